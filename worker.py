"""The worker process (``python worker.py``, the same as ``roomkeeper worker``): see roomkeeper/worker.py."""

from roomkeeper.worker import main

if __name__ == "__main__":
    main()
