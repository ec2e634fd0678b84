"""Key management: generating, storing, loading and rotating SM2 keys behind a keystore.

``KeyStore`` is the interface the ledger uses; ``FileKeyStore`` keeps PKCS#8 PEM files
(encrypted with a passphrase, or plain for demo consortia). A hardware security module
would implement the same interface, returning a ``Signer`` whose key never leaves it.
"""

from keys.keystore import FileKeyStore, KeyStore, passphrase_from_env
from ledger.crypto import Signer

__all__ = ["FileKeyStore", "KeyStore", "Signer", "passphrase_from_env"]
