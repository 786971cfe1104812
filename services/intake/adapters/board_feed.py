"""Keeps the queue board current by following intake's own event log, and tells
listeners (the SSE streams) which office changed.

Every intake process folds the same log, so with several replicas on one PostgreSQL
database each one sees every change: a commit in this process wakes the feed at once;
another replica's commits are read by polling the log (``SK_QUEUE_POLL_SECONDS``).

A read of the log costs a database round trip, so the feed reads only when it must: only
commits with board events notify it (``SqlIntakeUnitOfWork``), and ``catch_up(max_age)``
skips the read when every notified commit is folded and the last read is that recent (a
commit in this process, its own handler's catch-up and the woken feed make one read, not
three). Without notifications (``notified`` False, e.g. over a fake unit of work) every
catch-up reads.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

import structlog

from services.intake.domain.queue_board import QueueBoard
from shared.eventstore import LoggedEvent
from shared.waiting import wait_for_wakeup

log = structlog.get_logger(__name__)

BATCH = 1000  # events per read of the log
LogReader = Callable[[int, int], Awaitable[list[LoggedEvent]]]

# Event types that change a board; everything else in the log is skipped undecoded.
BOARD_EVENTS = frozenset(
    f"intake.{name}"
    for name in (
        "VisitRegistered", "VisitCalled", "VisitRecalled", "VisitTransferred",
        "VisitMarkedNoShow", "VisitEnded", "DeskOpened", "DeskClosed",
        # bookings: a checked-in visit is called first from its booked time
        "BookingMade", "BookingMoved", "BookingCancelled", "BookingNoShow", "BookingCheckedIn",
    )
)


class BoardFeed:
    def __init__(self, board: QueueBoard, poll_seconds: float = 0.25, read_log: LogReader | None = None) -> None:
        self.read_log = read_log  # set by ``follow`` when the log exists after the feed
        self.board = board
        self.poll_seconds = poll_seconds
        self.position = 0
        self._lock = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._listeners: dict[str, set[asyncio.Queue[int]]] = {}
        self.notified = False  # True when every commit with board events calls ``notify``
        self._written = 0  # notified commits
        self._folded = 0  # notified commits known folded (made before the last read began)
        self._read_at = float("-inf")  # when the last read began (monotonic)

    def follow(self, read_log: LogReader) -> None:
        self.read_log = read_log

    def notify(self) -> None:
        """Commit hook: something was written; catch up now."""
        self._written += 1
        self._wakeup.set()

    def _current(self, max_age: float) -> bool:
        return (
            self.notified and self._folded >= self._written
            and time.monotonic() - self._read_at <= max_age
        )

    async def catch_up(self, max_age: float = 0.0) -> None:
        """Fold every event written so far. Callers that need their own write on the
        board (a position, a call) await this after their commit.

        ``max_age`` > 0: no read when this process's notified commits are all folded and
        the last read began at most ``max_age`` seconds ago (other replicas' commits may
        then be that late, as between two polls)."""
        if self._current(max_age):
            return
        async with self._lock:
            if self._current(max_age):
                return
            written, started = self._written, time.monotonic()
            changed: set[str] = set()
            while batch := await self.read_log(self.position, BATCH):
                for item in batch:
                    if item.envelope.event_type not in BOARD_EVENTS:
                        continue
                    event = item.envelope.event()
                    if event and (office := self.board.apply(event, item.envelope.stream_id)):
                        changed.add(office)
                self.position = batch[-1].position
                if len(batch) < BATCH:  # the end of the log as this read began: no second read
                    break
            self._folded, self._read_at = written, started
            for office in changed:
                self._announce(office)

    def _announce(self, office_id: str) -> None:
        version = self.board.office(office_id).version
        for listener in self._listeners.get(office_id, ()):
            if listener.full():  # a slow reader only needs the newest state
                listener.get_nowait()
            listener.put_nowait(version)

    def listen(self, office_id: str) -> asyncio.Queue[int]:
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=1)
        self._listeners.setdefault(office_id, set()).add(queue)
        return queue

    def unlisten(self, office_id: str, queue: asyncio.Queue[int]) -> None:
        self._listeners.get(office_id, set()).discard(queue)

    async def run(self) -> None:
        """Follow the log until cancelled (a worker of intake's runtime)."""
        while True:
            self._wakeup.clear()
            try:
                await self.catch_up(self.poll_seconds / 2)
            except Exception as error:  # noqa: BLE001 - an outage must not end the feed
                log.warning("queue_feed_waiting", error=type(error).__name__)
                await asyncio.sleep(1.0)
            await wait_for_wakeup(self._wakeup, self.poll_seconds)
