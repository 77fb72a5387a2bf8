"""agreemint: token-incentivized data labeling over Telegram."""

__version__ = "0.1.0"
