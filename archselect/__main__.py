# Stop signals are recorded from the first moment, before the heavier imports.
from archselect._common import signals as _signals

_signals.install()

from archselect.cli import main  # noqa: E402

main()
