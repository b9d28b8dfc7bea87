"""``python -m genir_mini.data [--write-credits data/corpus/credits.csv] [--write-test-set data/photos]``:
the corpus's size, its credits file, and the shipped test set (both need the corpus installed)."""

import argparse

from .corpus import RCC_DIR, CorpusNotInstalled, catalogue, skipped_counts, write_credits
from .held_out import write_test_set


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m genir_mini.data",
                                     description="The photo corpus: its size, its credits, the test set.")
    parser.add_argument("--write-credits", metavar="CSV", help="write the credits of the kept photographs")
    parser.add_argument("--write-test-set", metavar="DIR", help="write the test photographs and their credits")
    parser.add_argument("--rcc-dir", default=None, help=f"folder of the .rcc archives (default {RCC_DIR})")
    args = parser.parse_args(argv)
    try:
        kept = catalogue(rcc_dir=args.rcc_dir)
    except CorpusNotInstalled as err:
        raise SystemExit(str(err)) from None
    held = sum(info.split == "held-out" for info in kept)
    pixels = sum(info.width * info.height for info in kept)
    print(f"kept {len(kept)} photographs ({len(kept) - held} train, {held} held out), {pixels / 1e6:.1f} Mpixels;"
          f" skipped: {skipped_counts(args.rcc_dir)}")
    if args.write_credits:
        write_credits(args.write_credits, args.rcc_dir)
        print(f"wrote {args.write_credits}")
    if args.write_test_set:
        write_test_set(args.write_test_set, args.rcc_dir)
        print(f"wrote the test set to {args.write_test_set}")


if __name__ == "__main__":
    main()
