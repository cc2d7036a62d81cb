"""Option values mitmproxy's `--set` cannot parse by itself: durations.

mitmproxy parses `--set NAME=VALUE` for text, whole numbers, booleans and lists; a
`float` option ends `guarita run --set guarita_session_hours=0.5` with "Unsupported
option type". So durations are declared as text and read here, in `configure`: a
value that is not a positive number is an OptionsError naming the option.
"""

from __future__ import annotations

import math

from mitmproxy import ctx, exceptions


def positive_number(name: str) -> float:
    text = str(getattr(ctx.options, name)).strip()
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise exceptions.OptionsError(f"{name}: {text!r} is not a positive number")
    return value
