"""Ports picked for servers that have not started yet never collide with each other."""

from deploy.launcher import _ephemeral_range, free_port, free_port_block


def test_ports_picked_before_any_server_binds_are_all_different() -> None:
    # 300 picks among ~12 000 ports: without the record of handed-out ports, two would be
    # the same in almost every run (the birthday bound gives ~97 %).
    picked = [free_port() for _ in range(300)]
    assert len(set(picked)) == len(picked)
    assert max(picked) < _ephemeral_range()[0]


def test_a_block_never_overlaps_a_port_already_handed_out() -> None:
    single = {free_port() for _ in range(200)}
    for _ in range(20):
        base = free_port_block(4)
        block = set(range(base, base + 4))
        assert not block & single
        single |= block
