"""Start the web chat on the default seed corpus: `python app.py [--host H] [--port P]`.

The seed index is built on first use (and rebuilt when seeds/ changes).
"""

import sys

from qa.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
