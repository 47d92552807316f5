"""The public names of ``http_api``: all importable, listed once, sorted."""

from __future__ import annotations

import http_api


def test_every_public_name_is_importable() -> None:
    for name in http_api.__all__:
        assert getattr(http_api, name) is not None, name


def test_public_names_are_listed_once_in_order() -> None:
    names = http_api.__all__
    assert len(set(names)) == len(names)

    def key(name: str) -> tuple[int, str]:
        return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)

    assert names == sorted(names, key=key)
