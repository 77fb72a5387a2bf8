"""Settings group for the chain (owned by the chain package; mounted as `Settings.chain`)."""

from pydantic import BaseModel, SecretStr


class ChainSettings(BaseModel):
    """Where the chain is and who signs. Empty `rpc_url` means the embedded local anvil node."""

    rpc_url: str = ""
    signer_key: SecretStr | None = None
    confirmations: int = 1
