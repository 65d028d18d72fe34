"""`python -m cache_lookup`: run the cache_lookup worker."""

from cache_lookup.app import main

main()
