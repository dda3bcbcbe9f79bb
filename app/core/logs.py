"""What the service's logs may say about an error."""

import logging
import re
import traceback


def without_message(exc: BaseException) -> str:
    """An error's type and the frames it was raised through, never its message: a database
    driver fills its messages with a row's values (names, birth dates)."""
    frames = traceback.extract_tb(exc.__traceback__)
    return type(exc).__name__ + "".join(
        f"\n  {frame.filename}:{frame.lineno} in {frame.name}" for frame in frames
    )


# A run of twelve digits or more may be a personal ID number typed into a URL.
_LONG_NUMBER = re.compile(r"\d{12,}")
_MASKED_LOGGERS = ("uvicorn.access", "uvicorn.error", "app")


def mask_long_numbers(text: str) -> str:
    """`text` with every run of twelve digits or more starred out."""
    return _LONG_NUMBER.sub(lambda match: "*" * len(match.group()), text)


class MaskLongNumbers(logging.Filter):
    """Stars out ID numbers in a record's message and arguments (the access log's URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = mask_long_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_long_numbers(arg) if isinstance(arg, str) else arg for arg in record.args
            )
        return True


def mask_long_numbers_in_logs() -> None:
    """Put the filter on the access and error logs (once, however many apps are built)."""
    for name in _MASKED_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, MaskLongNumbers) for f in logger.filters):
            logger.addFilter(MaskLongNumbers())
