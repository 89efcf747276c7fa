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
/// @notice ERC-3643 (T-REX) modular-compliance module: Rule 144 holding periods per lot, with
/// tacking. Tokens may not be transferred while they are inside their holding period, counted from
/// each lot's tacking date: a lot bought from the issuer (a mint) or from the issuer's or an
/// affiliate's wallet starts a new period at that block; a lot bought from any other holder keeps
/// the seller's tacking dates (Rule 144(d)(1): "the acquiror or any subsequent holder"). The same
/// rule as the venue's gate (Python `venue.resale`, `venue.ledger.Lots`); a test compares the two
/// on random lot histories.
/// @dev One module instance serves many compliances (one per security token); the period, the
/// holder roles and the lots are kept per compliance. A holder's lots are a list sorted by tacking
/// date (equal dates merged); disposals (transfer out, burn) consume from its head, which is also
/// where the lots released first are, so `moduleCheck` walks only as many lots as the transfer
/// needs. The period is either calendar months (`setHoldingPeriodMonths`: the lot is free at 00:00
/// UTC of the day N months after its tacking date, the day clamped to the month's end) or, when no
/// months are set, a fixed number of seconds (`setHoldingPeriod`).
/// The lots of a holder always sum to the holder's balance because T-REX routes every balance change
/// (transfer, transferFrom, forcedTransfer, recovery, mint, burn) through the compliance hooks and the
/// module refuses to bind to a compliance whose token already has a supply.
contract HoldingPeriodModule is IModule {
    /// @notice Holder roles: a holder's buyers tack; the issuer's and an affiliate's buyers start anew.
    uint8 public constant HOLDER = 0;
    uint8 public constant AFFILIATE = 1;
    uint8 public constant ISSUER = 2; // its own transfers are primary sales: no holding period applies

    struct Lot {
        uint64 tackedAt;
        uint64 next; // id of the next lot (later tacking date), 0 at the end
        uint128 qty;
    }

    struct LotList {
        uint64 head; // 0: no lots
        uint64 tail;
        uint64 lastId;
        mapping(uint64 id => Lot) lots;
    }

    mapping(address compliance => bool) private _complianceBound;
    mapping(address compliance => uint256) private _holdingPeriod;
    mapping(address compliance => uint256) private _holdingMonths;
    mapping(address compliance => mapping(address holder => uint8)) private _roles;
    mapping(address compliance => mapping(address holder => LotList)) private _lists;

    event HoldingPeriodSet(address indexed compliance, uint256 holdingPeriod);
    event HoldingPeriodMonthsSet(address indexed compliance, uint256 months);
    event HolderRoleSet(address indexed compliance, address indexed holder, uint8 role);

    modifier onlyComplianceCall() {
        require(_complianceBound[msg.sender], "only bound compliance can call");
        _;
    }

    // ----- configuration (called by the compliance owner through ModularCompliance.callModuleFunction)

    /// @notice Sets the holding period, in seconds, of the token bound to the calling compliance
    /// (used when no calendar months are set). Applies to lots already held as well.
    function setHoldingPeriod(uint256 holdingPeriod) external onlyComplianceCall {
        require(holdingPeriod <= type(uint64).max, "holding period too long");
        _holdingPeriod[msg.sender] = holdingPeriod;
        emit HoldingPeriodSet(msg.sender, holdingPeriod);
    }

    /// @notice Sets the holding period in calendar months (Rule 144(d)(1): 6 for a reporting
    /// issuer, 12 otherwise; 0: use the period in seconds). Applies to lots already held as well.
    function setHoldingPeriodMonths(uint256 months) external onlyComplianceCall {
        require(months <= 1200, "holding period too long");
        _holdingMonths[msg.sender] = months;
        emit HoldingPeriodMonthsSet(msg.sender, months);
    }

    /// @notice Records a wallet's relationship to the issuer: HOLDER, AFFILIATE or ISSUER.
    function setHolderRole(address holder, uint8 role) external onlyComplianceCall {
        require(role <= ISSUER, "unknown role");
        _roles[msg.sender][holder] = role;
        emit HolderRoleSet(msg.sender, holder, role);
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

    /// @notice The seller's lots are consumed from the head; the buyer gets the same pieces with
    /// their tacking dates, or one lot from now when the seller is the issuer or an affiliate.
    function moduleTransferAction(address _from, address _to, uint256 _value) external override onlyComplianceCall {
        if (_from == _to) {
            return;
        }
        LotList storage buyer = _lists[msg.sender][_to];
        if (_roles[msg.sender][_from] == HOLDER) {
            uint256 short = _consume(_lists[msg.sender][_from], _value, buyer, true);
            if (short > 0) {
                _insert(buyer, uint64(block.timestamp), short);
            }
        } else {
            _consume(_lists[msg.sender][_from], _value, buyer, false);
            _insert(buyer, uint64(block.timestamp), _value);
        }
    }

    function moduleMintAction(address _to, uint256 _value) external override onlyComplianceCall {
        _insert(_lists[msg.sender][_to], uint64(block.timestamp), _value);
    }

    function moduleBurnAction(address _from, uint256 _value) external override onlyComplianceCall {
        LotList storage none = _lists[msg.sender][address(0)];
        _consume(_lists[msg.sender][_from], _value, none, false);
    }

    /// @notice A transfer passes when the sender's lots past their holding period cover `_value`.
    /// Mints (`_from == 0`), the issuer's own transfers and tokens without a holding period pass.
    function moduleCheck(address _from, address, /*_to*/ uint256 _value, address _compliance)
        external
        view
        override
        returns (bool)
    {
        if (_from == address(0) || _roles[_compliance][_from] == ISSUER) {
            return true;
        }
        if (_holdingMonths[_compliance] == 0 && _holdingPeriod[_compliance] == 0) {
            return true;
        }
        return _unlocked(_compliance, _lists[_compliance][_from], _value) >= _value;
    }

    // ----- views

    function getHoldingPeriod(address _compliance) external view returns (uint256) {
        return _holdingPeriod[_compliance];
    }

    function getHoldingPeriodMonths(address _compliance) external view returns (uint256) {
        return _holdingMonths[_compliance];
    }

    function getHolderRole(address _compliance, address _holder) external view returns (uint8) {
        return _roles[_compliance][_holder];
    }

    /// @notice Quantity of `_holder`'s tokens that are past their holding period.
    function unlockedBalance(address _compliance, address _holder) external view returns (uint256) {
        return _unlocked(_compliance, _lists[_compliance][_holder], type(uint256).max);
    }

    /// @notice When a lot with tacking date `_tackedAt` may be transferred (a unix time).
    function releaseTime(address _compliance, uint256 _tackedAt) external view returns (uint256) {
        return _release(_compliance, _tackedAt);
    }

    /// @notice The holder's open lots, earliest tacking date first.
    function getLots(address _compliance, address _holder)
        external
        view
        returns (uint256[] memory acquiredAt, uint256[] memory qty)
    {
        LotList storage list = _lists[_compliance][_holder];
        uint256 n = 0;
        for (uint64 id = list.head; id != 0; id = list.lots[id].next) {
            n++;
        }
        acquiredAt = new uint256[](n);
        qty = new uint256[](n);
        uint256 i = 0;
        for (uint64 id = list.head; id != 0; id = list.lots[id].next) {
            acquiredAt[i] = list.lots[id].tackedAt;
            qty[i] = list.lots[id].qty;
            i++;
        }
    }

    // ----- lots

    /// @dev Adds `value` tacking from `tackedAt`, after the lots with an earlier date, merged into
    /// one with the same date. Most acquisitions tack from now and go to the tail at once.
    function _insert(LotList storage list, uint64 tackedAt, uint256 value) private {
        require(value <= type(uint128).max, "quantity too large");
        uint64 prev = 0;
        uint64 cur = list.head;
        if (list.tail != 0 && list.lots[list.tail].tackedAt <= tackedAt) {
            prev = list.tail;
            cur = 0;
        }
        while (cur != 0 && list.lots[cur].tackedAt < tackedAt) {
            prev = cur;
            cur = list.lots[cur].next;
        }
        if (prev != 0 && list.lots[prev].tackedAt == tackedAt) {
            list.lots[prev].qty += uint128(value);
            return;
        }
        if (cur != 0 && list.lots[cur].tackedAt == tackedAt) {
            list.lots[cur].qty += uint128(value);
            return;
        }
        uint64 id = ++list.lastId;
        list.lots[id] = Lot(tackedAt, cur, uint128(value));
        if (prev == 0) {
            list.head = id;
        } else {
            list.lots[prev].next = id;
        }
        if (cur == 0) {
            list.tail = id;
        }
    }

    /// @dev Takes `value` from the head of `list`; with `tack` each piece goes to `to` with its
    /// tacking date. Returns what the lots did not cover.
    function _consume(LotList storage list, uint256 value, LotList storage to, bool tack)
        private
        returns (uint256)
    {
        uint64 cur = list.head;
        while (value > 0 && cur != 0) {
            Lot storage lot = list.lots[cur];
            uint256 lotQty = lot.qty;
            uint64 tackedAt = lot.tackedAt;
            uint256 take = lotQty > value ? value : lotQty;
            if (lotQty > value) {
                lot.qty = uint128(lotQty - value);
            } else {
                uint64 next = lot.next;
                delete list.lots[cur];
                cur = next;
            }
            value -= take;
            if (tack) {
                _insert(to, tackedAt, take);
            }
        }
        list.head = cur;
        if (cur == 0) {
            list.tail = 0;
        }
        return value;
    }

    /// @dev Sum of the released lots at the head of the list, stopping once `enough` is reached.
    function _unlocked(address _compliance, LotList storage list, uint256 enough) private view returns (uint256 sum) {
        for (uint64 id = list.head; id != 0 && sum < enough; id = list.lots[id].next) {
            if (_release(_compliance, list.lots[id].tackedAt) > block.timestamp) {
                break;
            }
            sum += list.lots[id].qty;
        }
    }

    function _release(address _compliance, uint256 tackedAt) private view returns (uint256) {
        uint256 months = _holdingMonths[_compliance];
        if (months == 0) {
            return tackedAt + _holdingPeriod[_compliance];
        }
        return _addMonthsDayStart(tackedAt, months);
    }

    // ----- the calendar (proleptic Gregorian, UTC; H. Hinnant's days-from-civil algorithms)

    /// @dev 00:00 UTC of the day `months` calendar months after the UTC date of `timestamp`, the
    /// day-of-month clamped to the last day of the target month (Aug 31 + 6 months -> Feb 28/29).
    function _addMonthsDayStart(uint256 timestamp, uint256 months) internal pure returns (uint256) {
        (uint256 y, uint256 m, uint256 d) = _civilFromDays(timestamp / 1 days);
        uint256 m0 = m - 1 + months;
        y += m0 / 12;
        m = (m0 % 12) + 1;
        uint256 last = _daysInMonth(y, m);
        if (d > last) {
            d = last;
        }
        return _daysFromCivil(y, m, d) * 1 days;
    }

    /// @dev Days since 1970-01-01 of a date in or after 1970.
    function _daysFromCivil(uint256 y, uint256 m, uint256 d) internal pure returns (uint256) {
        if (m <= 2) {
            y -= 1;
        }
        uint256 era = y / 400;
        uint256 yoe = y - era * 400; // [0, 399]
        uint256 doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; // [0, 365]
        uint256 doe = yoe * 365 + yoe / 4 - yoe / 100 + doy; // [0, 146096]
        return era * 146097 + doe - 719468;
    }

    /// @dev The date of a number of days since 1970-01-01.
    function _civilFromDays(uint256 z) internal pure returns (uint256 y, uint256 m, uint256 d) {
        z += 719468;
        uint256 era = z / 146097;
        uint256 doe = z - era * 146097; // [0, 146096]
        uint256 yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365; // [0, 399]
        uint256 doy = doe - (365 * yoe + yoe / 4 - yoe / 100); // [0, 365]
        uint256 mp = (5 * doy + 2) / 153; // [0, 11]
        d = doy - (153 * mp + 2) / 5 + 1;
        m = mp < 10 ? mp + 3 : mp - 9;
        y = yoe + era * 400 + (m <= 2 ? 1 : 0);
    }

    function _daysInMonth(uint256 y, uint256 m) internal pure returns (uint256) {
        if (m == 2) {
            bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
            return leap ? 29 : 28;
        }
        return (m == 4 || m == 6 || m == 9 || m == 11) ? 30 : 31;
    }
}
