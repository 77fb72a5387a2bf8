"""One root error carrying a message fit for the user; raised deep, translated once in the bot."""

from __future__ import annotations


class AgreemintError(Exception):
    """Base error: `user_message` is safe to show to the person who caused it."""

    user_message = "Something went wrong. Please try again."

    def __init__(self, user_message: str | None = None) -> None:
        if user_message is not None:
            self.user_message = user_message
        super().__init__(self.user_message)


class NotFound(AgreemintError):
    user_message = "That was not found."


class ForeignAssignment(AgreemintError):
    user_message = "This task was not given to you."


class AssignmentExpired(AgreemintError):
    user_message = "This task has expired. Tap “Next task” for a new one."


class AlreadyAnswered(AgreemintError):
    user_message = "You have already answered this task."


class InvalidOption(AgreemintError):
    user_message = "That answer is not one of this task's options."


class CampaignNotActive(AgreemintError):
    user_message = "This campaign is not running right now."


class InvalidInput(AgreemintError):
    """Bad input from a file or a command; the message lists what is wrong."""

    user_message = "The input is not valid."
