import hashlib

from conftest import RAW_EXPORT


def test_raw_export_is_the_recorded_copy():
    # data/raw/README.md records this hash; the raw export is never edited.
    digest = hashlib.sha256(RAW_EXPORT.read_bytes()).hexdigest()
    assert digest == "7e1740504ea2a49e4e1eba1d08be5260a0283a2746719e8846cea8d9f8dfcb4e"
    assert digest in (RAW_EXPORT.parent / "README.md").read_text(encoding="utf-8")
