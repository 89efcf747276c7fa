// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IModule} from "@tokenysolutions/t-rex/contracts/compliance/modular/modules/IModule.sol";

/// @dev The two views of the bound compliance and token that the module reads.
interface IBoundCompliance {
    function getTokenBound() external view returns (address);
}

interface ISupply {
    function totalSupply() external view returns (uint256);
}

/// @title HoldingPeriodModule
/// @notice ERC-3643 (T-REX) modular-compliance module: tokens may not be transferred while they are
/// inside their holding period, counted from the holder's acquisition of each lot.
/// @dev One module instance serves many compliances (one per security token); the holding period and
/// the lots are kept per compliance. Every acquisition (mint, transfer in) appends a lot
/// (acquiredAt, qty) to the holder's FIFO queue; every disposal (transfer out, burn) consumes lots
/// oldest first. Because the queue is FIFO and acquisition times only grow, the unlocked lots are
/// always at its head, so `moduleCheck` walks only as many lots as the transfer needs.
/// The lots of a holder always sum to the holder's balance because T-REX routes every balance change
/// (transfer, transferFrom, forcedTransfer, recovery, mint, burn) through the compliance hooks and the
/// module refuses to bind to a compliance whose token already has a supply.
/// A forced transfer or recovery by an agent starts a new holding period for the receiver.
contract HoldingPeriodModule is IModule {
    struct Lot {
        uint64 acquiredAt;
        uint192 qty;
    }

    struct LotQueue {
        uint128 head;
        uint128 tail;
        mapping(uint256 => Lot) lots;
    }

    mapping(address compliance => bool) private _complianceBound;
    mapping(address compliance => uint256) private _holdingPeriod;
    mapping(address compliance => mapping(address holder => LotQueue)) private _queues;

    event HoldingPeriodSet(address indexed compliance, uint256 holdingPeriod);

    modifier onlyComplianceCall() {
        require(_complianceBound[msg.sender], "only bound compliance can call");
        _;
    }

    // ----- configuration (called by the compliance owner through ModularCompliance.callModuleFunction)

    /// @notice Sets the holding period, in seconds, of the token bound to the calling compliance.
    /// @dev Applies to lots already held as well: a lot is free once acquiredAt + holdingPeriod <= now.
    function setHoldingPeriod(uint256 holdingPeriod) external onlyComplianceCall {
        require(holdingPeriod <= type(uint64).max, "holding period too long");
        _holdingPeriod[msg.sender] = holdingPeriod;
        emit HoldingPeriodSet(msg.sender, holdingPeriod);
    }

    // ----- IModule: binding

    function bindCompliance(address _compliance) external override {
        require(_compliance != address(0), "invalid argument - zero address");
        require(!_complianceBound[_compliance], "compliance already bound");
        require(msg.sender == _compliance, "only compliance contract can call");
        _complianceBound[_compliance] = true;
        emit ComplianceBound(_compliance);
    }

    function unbindCompliance(address _compliance) external override onlyComplianceCall {
        require(_compliance != address(0), "invalid argument - zero address");
        require(msg.sender == _compliance, "only compliance contract can call");
        _complianceBound[_compliance] = false;
        emit ComplianceUnbound(_compliance);
    }

    function isComplianceBound(address _compliance) external view override returns (bool) {
        return _complianceBound[_compliance];
    }

    /// @notice Binds only while the compliance's token has no supply, so that lots cover every balance.
    function canComplianceBind(address _compliance) external view override returns (bool) {
        address token = IBoundCompliance(_compliance).getTokenBound();
        return token == address(0) || ISupply(token).totalSupply() == 0;
    }

    function isPlugAndPlay() external pure override returns (bool) {
        return false;
    }

    function name() external pure override returns (string memory _name) {
        return "HoldingPeriodModule";
    }

    // ----- IModule: hooks

    function moduleTransferAction(address _from, address _to, uint256 _value) external override onlyComplianceCall {
        _consume(_queues[msg.sender][_from], _value);
        _append(_queues[msg.sender][_to], _value);
    }

    function moduleMintAction(address _to, uint256 _value) external override onlyComplianceCall {
        _append(_queues[msg.sender][_to], _value);
    }

    function moduleBurnAction(address _from, uint256 _value) external override onlyComplianceCall {
        _consume(_queues[msg.sender][_from], _value);
    }

    /// @notice A transfer passes when the sender's lots past their holding period cover `_value`.
    /// Mints (`_from == 0`) and tokens without a holding period always pass.
    function moduleCheck(address _from, address /*_to*/, uint256 _value, address _compliance)
        external
        view
        override
        returns (bool)
    {
        if (_from == address(0)) {
            return true;
        }
        uint256 period = _holdingPeriod[_compliance];
        if (period == 0) {
            return true;
        }
        return _unlocked(_queues[_compliance][_from], period, _value) >= _value;
    }

    // ----- views

    function getHoldingPeriod(address _compliance) external view returns (uint256) {
        return _holdingPeriod[_compliance];
    }

    /// @notice Quantity of `_holder`'s tokens that are past their holding period.
    function unlockedBalance(address _compliance, address _holder) external view returns (uint256) {
        return _unlocked(_queues[_compliance][_holder], _holdingPeriod[_compliance], type(uint256).max);
    }

    /// @notice The holder's open lots, oldest first.
    function getLots(address _compliance, address _holder)
        external
        view
        returns (uint256[] memory acquiredAt, uint256[] memory qty)
    {
        LotQueue storage q = _queues[_compliance][_holder];
        uint256 n = q.tail - q.head;
        acquiredAt = new uint256[](n);
        qty = new uint256[](n);
        for (uint256 i = 0; i < n; i++) {
            Lot memory lot = q.lots[q.head + i];
            acquiredAt[i] = lot.acquiredAt;
            qty[i] = lot.qty;
        }
    }

    // ----- lots

    function _append(LotQueue storage q, uint256 value) private {
        require(value <= type(uint192).max, "quantity too large");
        uint64 now_ = uint64(block.timestamp);
        if (q.tail > q.head) {
            Lot storage last = q.lots[q.tail - 1];
            if (last.acquiredAt == now_) {
                last.qty += uint192(value);
                return;
            }
        }
        q.lots[q.tail] = Lot(now_, uint192(value));
        q.tail += 1;
    }

    function _consume(LotQueue storage q, uint256 value) private {
        uint128 head = q.head;
        uint128 tail = q.tail;
        while (value > 0 && head < tail) {
            Lot storage lot = q.lots[head];
            uint256 qty = lot.qty;
            if (qty > value) {
                lot.qty = uint192(qty - value);
                value = 0;
            } else {
                value -= qty;
                delete q.lots[head];
                head += 1;
            }
        }
        q.head = head;
    }

    /// @dev Sum of the unlocked lots at the head of the queue, stopping once `enough` is reached.
    function _unlocked(LotQueue storage q, uint256 period, uint256 enough) private view returns (uint256 sum) {
        uint256 tail = q.tail;
        for (uint256 i = q.head; i < tail && sum < enough; i++) {
            Lot memory lot = q.lots[i];
            if (uint256(lot.acquiredAt) + period > block.timestamp) {
                break;
            }
            sum += lot.qty;
        }
    }
}
