"""Helpers every stage may use, none of them a stage: JSON records (``serde``), secrets in
URLs (``secrets``), stop signals (``signals``), the ``--timeout`` clock (``budget``) and the
version (``version``)."""
