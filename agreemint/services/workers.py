"""Workers: registration from Telegram profiles, and the update de-duplication ledger."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from agreemint.domain import WorkerView
from agreemint.services.audit import audit
from agreemint.store.engine import SessionMaker
from agreemint.store.models import ProcessedUpdate, Worker
from agreemint.store.types import utcnow

# Telegram keeps undelivered updates for 24 h; ids older than that cannot come back.
UPDATE_MEMORY = timedelta(hours=48)
CLAIM_TIMEOUT = timedelta(minutes=2)


class WorkerService:
    """Who is talking to the bot."""

    def __init__(self, sessionmaker: SessionMaker) -> None:
        self._sm = sessionmaker

    async def register(
        self, telegram_id: int, first_name: str, username: str | None, language: str | None
    ) -> WorkerView:
        """Find or create the worker for a Telegram user; keeps the profile fields current."""
        async with self._sm() as session:
            worker = await session.scalar(select(Worker).where(Worker.telegram_id == telegram_id))
            is_new = worker is None
            if worker is None:
                worker = Worker(
                    telegram_id=telegram_id,
                    first_name=first_name,
                    username=username,
                    language=language,
                )
                session.add(worker)
                await session.flush()
                audit(session, "worker.registered", "worker", worker.id, actor=str(telegram_id))
            else:
                worker.first_name, worker.username = first_name, username
                worker.language = language
            try:
                await session.commit()
            except IntegrityError:
                # Two first updates of one user raced; the other one created the row.
                await session.rollback()
                return await self.register(telegram_id, first_name, username, language)
            return WorkerView(
                worker.id, worker.telegram_id, worker.first_name, worker.username, is_new,
                worker.role,
            )

    async def claim_update(self, update_id: int) -> bool:
        """Claim an update for handling; False when it was handled or is being handled.

        A claim older than CLAIM_TIMEOUT that never finished belongs to a crashed process,
        so it may be taken over: a redelivered update is then handled, not lost.
        """
        now = utcnow()
        async with self._sm() as session:
            session.add(ProcessedUpdate(update_id=update_id, processed_at=now))
            try:
                await session.commit()
                return True
            except IntegrityError:
                await session.rollback()
            result = await session.execute(
                update(ProcessedUpdate)
                .where(
                    ProcessedUpdate.update_id == update_id,
                    ProcessedUpdate.done.is_(False),
                    ProcessedUpdate.processed_at < now - CLAIM_TIMEOUT,
                )
                .values(processed_at=now)
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0)) == 1

    async def finish_update(self, update_id: int) -> None:
        """Mark a claimed update as handled for good."""
        async with self._sm() as session:
            await session.execute(
                update(ProcessedUpdate)
                .where(ProcessedUpdate.update_id == update_id)
                .values(done=True)
            )
            await session.commit()

    async def release_update(self, update_id: int) -> None:
        """Give a claim back after a failure, so a redelivery is handled again."""
        async with self._sm() as session:
            await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.update_id == update_id)
            )
            await session.commit()

    async def forget_old_updates(self) -> int:
        """Drop update ids too old to be redelivered (a scheduler job); returns how many."""
        async with self._sm() as session:
            cutoff = utcnow() - UPDATE_MEMORY
            result = await session.execute(
                delete(ProcessedUpdate).where(ProcessedUpdate.processed_at < cutoff)
            )
            await session.commit()
            return int(getattr(result, "rowcount", 0) or 0)
