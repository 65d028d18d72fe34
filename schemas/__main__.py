"""`python -m schemas`: regenerate the JSON Schema files."""

from schemas.generate import write

for path in write():
    print(path)
