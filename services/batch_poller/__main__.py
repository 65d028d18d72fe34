"""`python -m batch_poller`: run the batch_poller worker."""

from batch_poller.app import main

main()
