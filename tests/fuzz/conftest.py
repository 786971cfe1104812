"""Schemathesis' lazy schemas (``schemathesis.pytest.from_fixture``) rename the running
test to ``test_x[GET /path]`` through ``node._nodeid``, which pytest 9.2 replaced with a
structured id. Without the attribute every fuzz test fails before it starts; with this
stand-in (read: the real node id; write: ignored) the operations still show up by name,
as subtests. A no-op on a pytest that still has the attribute."""

from __future__ import annotations

import _pytest.nodes

if not hasattr(_pytest.nodes.Node, "_nodeid"):
    _pytest.nodes.Node._nodeid = property(  # type: ignore[attr-defined]
        lambda node: node.nodeid, lambda node, value: None
    )
