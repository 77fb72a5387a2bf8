"""Ethereum side: contract clients, nonce management, deployment, the embedded anvil node."""
