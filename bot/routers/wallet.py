"""Workers: linking an Ethereum wallet by signing a Sign-In with Ethereum message.

Replies are recognised by their content (an address, a signature, a signed message), so a
paste works even after a restart has emptied the FSM storage. The states only catch the one
message right after a prompt that is neither, to explain instead of "use the buttons"; they
are cleared then, so later chatter reaches the fallbacks again.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message

from agreemint import siwe
from agreemint.domain import WorkerView
from agreemint.services.wallets import WalletService
from agreemint.wallet_errors import MalformedAddress
from bot import wallet_texts


class WalletLink(StatesGroup):
    address = State()  # /wallet asked for an address
    signature = State()  # a message to sign was shown


async def wallet_command(
    message: Message, command: CommandObject, worker: WorkerView, wallets: WalletService,
    state: FSMContext,
) -> None:
    if command.args and command.args.strip():
        await _issue(message, worker, wallets, state, command.args.strip())
        return
    current = await wallets.status(worker.id)
    if current.address:
        await state.clear()
        await message.answer(wallet_texts.status(current))
    else:
        await state.set_state(WalletLink.address)
        await message.answer(wallet_texts.ASK_ADDRESS)


async def address_reply(
    message: Message, worker: WorkerView, wallets: WalletService, state: FSMContext
) -> None:
    await _issue(message, worker, wallets, state, (message.text or "").strip())


async def signed_reply(
    message: Message, worker: WorkerView, wallets: WalletService, state: FSMContext
) -> None:
    result = await wallets.submit(worker.id, message.text or "")
    await state.clear()
    await message.answer(wallet_texts.linked(result))


async def not_an_address(message: Message, state: FSMContext) -> None:
    await state.clear()
    raise MalformedAddress()


async def not_a_signature(message: Message, state: FSMContext) -> None:
    await state.clear()
    await message.answer(wallet_texts.NOT_A_SIGNATURE)


async def _issue(
    message: Message, worker: WorkerView, wallets: WalletService, state: FSMContext,
    address: str,
) -> None:
    await state.clear()  # a refused address must not leave the chat waiting for a signature
    issued = await wallets.issue_challenge(worker.id, address)
    await state.set_state(WalletLink.signature)
    await message.answer(wallet_texts.challenge(issued))


def build() -> Router:
    """A fresh router for one dispatcher."""
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.message.register(wallet_command, Command("wallet"))
    not_command = F.text & ~F.text.startswith("/")
    router.message.register(signed_reply, not_command, F.text.func(siwe.looks_like_submission))
    router.message.register(address_reply, not_command, F.text.func(siwe.looks_like_address))
    router.message.register(not_an_address, not_command, StateFilter(WalletLink.address))
    router.message.register(not_a_signature, not_command, StateFilter(WalletLink.signature))
    return router
