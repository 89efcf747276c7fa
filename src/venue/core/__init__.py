"""The venue core: commands in, journal records and reports out.

One `VenueCore` owns every book, every live order and the id counters. It is driven by a single
thread (the sequencer), takes the time as an argument and performs no I/O of its own, except the
injected `load_order` for a status request about an order no longer in memory. Each call to
`handle()` or `run_timers()` appends to the current `JournalBatch` and outbound report list; the
sequencer commits the batch before it sends the reports.

`VenueCore` is one class put together from one part per job, each in its own module:

- `venue_core.py`: the core's state, start-up from the store, the sequencer's interface (`handle`,
  `take`, timers), internal errors, session log-outs;
- `gating.py`: new orders, cancels, replaces and mass cancels through the gates; the resting sweep;
- `phases.py`: trading phases from the calendar, call and periodic auctions, halts and resumes;
- `reports.py`: order records from book events, execution reports, cancel rejects, settlement
  outcomes and busts, pre-funding holds;
- `requests.py`: read-only requests: order status, market data, security list;
- `ops.py`: venue operations' commands: halt, suspend, resume, kill, unkill, reload.

The parts are mixins: none stands alone; each reads and changes the state `VenueCore.__init__` sets
up and reaches the other parts' methods through `self`.
"""

from venue.core.reports import AVG_PX_PLACES, NONE_ORDER_ID, CxlRejReason
from venue.core.venue_core import IdCounters, VenueCore

__all__ = ["AVG_PX_PLACES", "NONE_ORDER_ID", "CxlRejReason", "IdCounters", "VenueCore"]
