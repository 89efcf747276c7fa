// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/// @title SandboxStablecoin
/// @notice The cash leg of the sandbox venue: a plain ERC-20 with 6 decimals that the venue
/// operator mints. It stands for a regulated stablecoin or tokenised deposit; it has no value.
contract SandboxStablecoin is ERC20, AccessControl {
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    constructor(string memory name_, string memory symbol_, address operator) ERC20(name_, symbol_) {
        _grantRole(DEFAULT_ADMIN_ROLE, operator);
        _grantRole(MINTER_ROLE, operator);
    }

    function decimals() public pure override returns (uint8) {
        return 6;
    }

    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }
}
