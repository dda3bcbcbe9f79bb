"""What the service's logs may say about an error."""

import traceback


def without_message(exc: BaseException) -> str:
    """An error's type and the frames it was raised through, never its message: a database
    driver fills its messages with a row's values (names, birth dates)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return type(exc).__name__ + "".join(
        f"\n  {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames
    )
