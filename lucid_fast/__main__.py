import sys

from lucid_fast.cli import main

sys.exit(main())
