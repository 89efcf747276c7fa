// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

/// @title DvP
/// @notice Delivery versus payment for trades matched off-chain by the venue. Each trade moves the
/// security (seller -> buyer) and the cash (buyer -> seller) atomically, by transferFrom under
/// allowances the two parties gave this contract. A trade id settles at most once.
/// @dev For an ERC-3643 token the security leg succeeds only if the token is not paused, neither
/// wallet is frozen, the buyer is verified in the token's identity registry and the token's
/// compliance allows the transfer; any refusal reverts the leg and so the whole trade.
contract DvP is AccessControl, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    bytes32 public constant OPERATOR_ROLE = keccak256("OPERATOR_ROLE");

    struct Trade {
        bytes32 tradeId;
        address token;
        address seller;
        address buyer;
        uint256 qty;
        address cashToken;
        uint256 amount;
    }

    /// @notice Outcome of one trade of a batch, in the order given.
    enum Outcome {
        Settled,
        AlreadySettled,
        Failed
    }

    /// @notice Block number in which a trade id settled; 0 if it never did.
    mapping(bytes32 tradeId => uint256) public settledInBlock;

    event Settled(
        bytes32 indexed tradeId,
        address indexed token,
        address seller,
        address buyer,
        uint256 qty,
        address cashToken,
        uint256 amount
    );
    event AlreadySettled(bytes32 indexed tradeId, uint256 settledInBlock);
    event SettlementFailed(bytes32 indexed tradeId, bytes reason);

    error OnlySelf();
    error InvalidTrade(bytes32 tradeId);

    constructor(address admin, address operator) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(OPERATOR_ROLE, operator);
    }

    /// @notice Settles one trade; reverts (moving nothing) if either leg fails.
    /// @return settledNow false when the trade id had already settled (an AlreadySettled event is emitted).
    function settle(
        bytes32 tradeId,
        address token,
        address seller,
        address buyer,
        uint256 qty,
        address cashToken,
        uint256 amount
    ) external onlyRole(OPERATOR_ROLE) nonReentrant returns (bool settledNow) {
        uint256 block_ = settledInBlock[tradeId];
        if (block_ != 0) {
            emit AlreadySettled(tradeId, block_);
            return false;
        }
        _settle(tradeId, token, seller, buyer, qty, cashToken, amount);
        return true;
    }

    /// @notice Settles each trade independently: a trade whose leg fails is reported by a
    /// SettlementFailed event carrying the revert data, and the others still settle.
    function settleBatch(Trade[] calldata trades)
        external
        onlyRole(OPERATOR_ROLE)
        nonReentrant
        returns (Outcome[] memory outcomes)
    {
        uint256 n = trades.length;
        outcomes = new Outcome[](n);
        for (uint256 i = 0; i < n; ++i) {
            Trade calldata t = trades[i];
            uint256 block_ = settledInBlock[t.tradeId];
            if (block_ != 0) {
                emit AlreadySettled(t.tradeId, block_);
                outcomes[i] = Outcome.AlreadySettled;
                continue;
            }
            try this.settleFromBatch(t) {
                outcomes[i] = Outcome.Settled;
            } catch (bytes memory reason) {
                emit SettlementFailed(t.tradeId, reason);
                outcomes[i] = Outcome.Failed;
            }
        }
    }

    /// @dev Entry point of the per-trade self-call made by settleBatch, so that a failing trade's
    /// state changes are rolled back alone. Callable only by this contract.
    function settleFromBatch(Trade calldata t) external {
        if (msg.sender != address(this)) revert OnlySelf();
        _settle(t.tradeId, t.token, t.seller, t.buyer, t.qty, t.cashToken, t.amount);
    }

    function isSettled(bytes32 tradeId) external view returns (bool) {
        return settledInBlock[tradeId] != 0;
    }

    /// @dev Checks, marks the trade id settled, then moves both legs; any failure reverts all of it.
    function _settle(
        bytes32 tradeId,
        address token,
        address seller,
        address buyer,
        uint256 qty,
        address cashToken,
        uint256 amount
    ) private {
        if (qty == 0 || amount == 0 || seller == buyer) revert InvalidTrade(tradeId);
        settledInBlock[tradeId] = block.number;
        IERC20(token).safeTransferFrom(seller, buyer, qty);
        IERC20(cashToken).safeTransferFrom(buyer, seller, amount);
        emit Settled(tradeId, token, seller, buyer, qty, cashToken, amount);
    }
}
