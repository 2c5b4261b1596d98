"""Interim re-exports of the kit's HTTP/2 modules (ferrykit/h2frames, hpack, h2client,
h2backend) under the old `h2raw` names, while the test files move to importing them directly."""

from ferrykit.h2backend import H2Backend as _H2Backend
from ferrykit.h2client import *  # noqa: F401,F403
from ferrykit.h2frames import *  # noqa: F401,F403
from ferrykit.hpack import *  # noqa: F401,F403


class H2Backend(_H2Backend):
    def __init__(self, harness=None, **kw):  # the old first argument (the harness module) is not needed
        super().__init__(**kw)
