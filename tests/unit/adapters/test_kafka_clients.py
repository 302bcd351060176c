"""kafka-python checks every record batch's CRC-32C (the writer's consumer, the gateway's
and ``motcua publish``'s producers). Without the ``crc32c`` package it falls back to pure
Python, about 0.4 s of CPU a MiB: in the soak that was a fifth of the writer's CPU."""

import kafka.record.util as record_util

from motcua.adapters import kafka_clients


def test_kafka_python_checks_record_crcs_in_c():
    assert record_util.crc32c_c is not None, "the crc32c package is not installed"
    assert record_util._crc32c is record_util.crc32c_c


def test_the_c_crc_is_crc32c():
    # the standard check value of CRC-32C (Castagnoli) over b"123456789"
    assert record_util.calc_crc32c(memoryview(b"123456789")) == 0xE3069283
    assert kafka_clients.uses_c_crc32c()
