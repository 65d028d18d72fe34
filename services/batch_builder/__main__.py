"""`python -m batch_builder`: run the batch_builder worker."""

from batch_builder.app import main

main()
