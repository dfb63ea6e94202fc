"""Exit codes: a cron job or a systemd unit decides what to do from these alone (README lists them)."""
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0            # done; the dataset was updated (or the report written)
    INTERNAL = 1      # a bug: please report it with the log
    CONFIG = 2        # the config or the command line is wrong, or names something Kolada lacks
    UNCHANGED = 3     # done; nothing new upstream, the dataset is as it was
    UPSTREAM = 4      # Kolada unavailable or answering garbage; the dataset is as it was
    PARTIAL = 5       # some KPIs fetched and stored, others failed and kept their old values
    LOCKED = 6        # another run holds the lock on this output directory; this one did nothing
    OUTPUT = 7        # the output directory cannot be written (permissions, full disk); old data intact
    HANGUP = 129       # SIGHUP (the terminal closed); stopped cleanly, the previous dataset is intact
    INTERRUPTED = 130  # Ctrl-C / SIGINT; the previous dataset is intact
    TERMINATED = 143   # SIGTERM (cron, systemd, kill); stopped cleanly, the previous dataset is intact
