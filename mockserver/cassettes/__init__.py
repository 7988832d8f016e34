"""Record the live service, replay it, and measure the mock's drift from it.

* :mod:`~mockserver.cassettes.cassette`: one recorded exchange per file, and the redaction that runs before
  anything touches the disk;
* :mod:`~mockserver.cassettes.proxy`: ``musicapi-mock record``, a recording proxy on 127.0.0.1 with a
  credit budget;
* :mod:`~mockserver.cassettes.replay`: ``musicapi-mock serve --replay DIR``, recorded answers first;
* :mod:`~mockserver.cassettes.shapes` and :mod:`~mockserver.cassettes.drift`: ``musicapi-mock drift``,
  the recorded sequences replayed against a mock and compared field by field (shapes, not random values).
"""
