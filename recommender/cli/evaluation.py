"""``newsrec evaluate`` and ``newsrec tune``: the offline evaluation's commands.

The promotion gate runs inside ``newsrec train --gate`` (:mod:`recommender.cli.train`).
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from recommender.cli._args import (
    add_test_period_arguments,
    datetime_arg,
    positive_float,
    positive_int,
    stderr,
)
from recommender.cli.exits import EXIT_OK
from recommender.evaluation import REPLAY_STRATEGIES

# The library is imported inside the handlers: ``newsrec`` builds every command's parser
# at start-up, and scikit-learn and pyarrow would cost every command seconds to import.


def _strategies(value: str) -> tuple[str, ...]:
    names = tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = [n for n in names if n not in REPLAY_STRATEGIES]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"strategies are a comma-separated list of {', '.join(REPLAY_STRATEGIES)}"
        )
    return names


def add_evaluate_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec evaluate``."""
    p = sub.add_parser(
        "evaluate",
        help="offline evaluation: replay sessions after a chronological split",
        description="Train on the views before a split, replay every reader session after "
        "it against the live catalogue of the time (articles published after the split are "
        "folded in by content at publication, as the service does), and score each strategy: "
        "did the list shown on an article contain the next article the reader opened? Prints "
        "a table; --json and --report write the figures and an HTML report.",
    )
    p.add_argument("--articles", type=Path, help="articles file, as newsrec train reads it")
    p.add_argument("--views", type=Path, help="views file of events (sessions or users)")
    p.add_argument(
        "--mind",
        type=Path,
        metavar="DIR",
        help="a MIND folder (news.tsv, behaviors.tsv) instead of --articles/--views; "
        "converted with convert_mind (session = impression)",
    )
    # not required with --clicks, which replays nothing (checked in _evaluate)
    add_test_period_arguments(p, required=False)
    p.add_argument(
        "--test-until",
        type=datetime_arg,
        metavar="DATE",
        help="end of the test period (default: the last view)",
    )
    p.add_argument(
        "--config",
        type=Path,
        help="TOML file: [train] for the models, [blend] for the ranking "
        "(as newsrec tune writes it)",
    )
    p.add_argument(
        "--strategies",
        type=_strategies,
        default=REPLAY_STRATEGIES,
        help=f"comma-separated subset of {','.join(REPLAY_STRATEGIES)} (default: all)",
    )
    p.add_argument(
        "--max-per-section",
        type=positive_int,
        metavar="K",
        help="also replay the related strategies with this diversity cap (as <strategy>+caps): "
        "at most K items of one section per list, as NEWSREC_MAX_PER_SECTION",
    )
    p.add_argument(
        "--max-per-author",
        type=positive_int,
        metavar="K",
        help="the same per author (NEWSREC_MAX_PER_AUTHOR)",
    )
    p.add_argument(
        "--per-story",
        type=positive_int,
        metavar="K",
        default=1,
        help="also replay the related strategies with same-story collapsing (as "
        "<strategy>+stories): at most K items of one story per list, as NEWSREC_PER_STORY "
        "(default 1)",
    )
    p.add_argument(
        "--no-stories",
        dest="per_story",
        action="store_const",
        const=0,
        help="do not replay with same-story collapsing",
    )
    p.add_argument(
        "--clicks",
        type=Path,
        metavar="PATH",
        help="instead of a replay: the service's click log (NEWSREC_EVENT_LOG_DIR/clicks, a "
        "folder or file); how often each strategy of --model ranks the clicked article in its "
        "top k (docs/experiments.md)",
    )
    p.add_argument(
        "--model",
        type=Path,
        metavar="DIR",
        help="with --clicks: a bundle, or a models folder (its LATEST)",
    )
    p.add_argument("--json", type=Path, metavar="PATH", help="write every figure as JSON")
    p.add_argument(
        "--report", type=Path, metavar="PATH", help="write a self-contained HTML report with plots"
    )
    p.add_argument(
        "--workdir",
        type=Path,
        help="keep the training inputs and bundle here (default: a temporary dir)",
    )
    p.set_defaults(handler=_evaluate, parser=p)


def _evaluate_clicks(args: argparse.Namespace) -> int:
    from recommender.blend import BlendParams
    from recommender.bundle import Bundle, latest_version
    from recommender.evaluation.clicks import (
        CLICK_STRATEGIES,
        click_hit_rates,
        format_clicks,
        read_clicks,
    )

    if args.model is None:
        args.parser.error("--clicks needs --model (a bundle or a models folder)")
    path = args.model
    version = latest_version(path) if (path / "LATEST").exists() else None
    bundle = Bundle.load(path / version if version else path)
    params = BlendParams.from_toml(args.config) if args.config else BlendParams()
    wanted = [s for s in args.strategies if s in CLICK_STRATEGIES] or list(CLICK_STRATEGIES)
    figures = click_hit_rates(bundle, read_clicks(args.clicks), strategies=wanted, params=params)
    figures["model"] = bundle.version
    print(format_clicks(figures))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
        stderr(f"wrote {args.json}")
    return EXIT_OK


def _evaluate(args: argparse.Namespace) -> int:
    from recommender.blend import BlendParams
    from recommender.caps import Caps
    from recommender.config import TrainConfig
    from recommender.evaluation.evaluate import evaluate, format_report

    if args.clicks is not None:
        return _evaluate_clicks(args)
    if args.test_from is None and args.test_days is None:
        args.parser.error("one of the arguments --test-from --test-days is required")

    if (args.mind is None) == (args.articles is None or args.views is None) or (
        args.mind is not None and (args.articles or args.views)
    ):
        args.parser.error("give --articles and --views, or --mind")
    config = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    params = BlendParams.from_toml(args.config) if args.config else BlendParams()
    with tempfile.TemporaryDirectory(prefix="newsrec-mind-") as tmp:
        articles, views = args.articles, args.views
        if args.mind is not None:
            from recommender.sources.mind import convert_mind

            stderr(f"converting {args.mind} (MIND) ...")
            articles, views = convert_mind(args.mind, Path(tmp))
        evaluation = evaluate(
            articles,
            views,
            test_from=args.test_from,
            test_days=args.test_days,
            test_until=args.test_until,
            config=config,
            params=params,
            strategies=args.strategies,
            caps=Caps(args.max_per_section, args.max_per_author)
            if args.max_per_section or args.max_per_author
            else None,
            per_story=args.per_story,
            workdir=args.workdir,
            mind=args.mind is not None,
            log=stderr,
        )
    if args.mind is not None:
        evaluation.summary["inputs"] = {"mind": str(args.mind)}
    print(format_report(evaluation.summary))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(evaluation.summary, indent=2) + "\n", encoding="utf-8")
        stderr(f"wrote {args.json}")
    if args.report is not None:
        from recommender.evaluation.report import write_report

        write_report(evaluation.summary, args.report)
        stderr(f"wrote {args.report}")
    return EXIT_OK


def add_tune_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``newsrec tune``."""
    p = sub.add_parser(
        "tune",
        help="search the hybrid's settings on a validation split, write them as TOML",
        description="Replay the period just before the test period (which is left untouched) "
        "and search the ranking settings (re-ranking one bundle) and a few training settings "
        "(one bundle each) for the best hybrid hit rate at 10. Writes a TOML file with [train] "
        "and [blend] tables for newsrec train/evaluate --config, with the trials as comments "
        "and as CSV beside it.",
    )
    p.add_argument("--articles", type=Path, required=True, help="articles file")
    p.add_argument("--views", type=Path, required=True, help="views file of events")
    add_test_period_arguments(p)
    p.add_argument(
        "--validation-days",
        type=positive_float,
        metavar="N",
        help="length of the validation period (default: that of the test period)",
    )
    p.add_argument("--budget", type=positive_int, default=30, help="trials at most (default 30)")
    p.add_argument("--config", type=Path, help="starting settings (TOML, [train] and [blend])")
    p.add_argument("--out", type=Path, required=True, help="TOML file to write")
    p.add_argument(
        "--trials-csv",
        type=Path,
        help="CSV of the trials (default: <out stem>.trials.csv beside --out)",
    )
    p.add_argument(
        "--workdir", type=Path, help="keep the inputs and bundles here (default: a temporary dir)"
    )
    p.set_defaults(handler=_tune)


def _tune(args: argparse.Namespace) -> int:
    from recommender.blend import BlendParams
    from recommender.config import TrainConfig
    from recommender.evaluation.tune import OBJECTIVE, format_trials, tune, write_config

    config = TrainConfig.from_toml(args.config) if args.config else TrainConfig()
    params = BlendParams.from_toml(args.config) if args.config else BlendParams()
    result = tune(
        args.articles,
        args.views,
        test_from=args.test_from,
        test_days=args.test_days,
        validation_days=args.validation_days,
        budget=args.budget,
        config=config,
        params=params,
        workdir=args.workdir,
        log=stderr,
    )
    print(format_trials(result.trials))
    print()
    best, base = result.best, result.baseline
    print(
        f"best: trial {best.number} ({best.changed}), {OBJECTIVE} {best.hit_rate_at_10:.4f} "
        f"vs {base.hit_rate_at_10:.4f} with the starting settings, on {result.n_pairs} "
        f"validation pairs"
    )
    for note in result.notes:
        print(note)
    toml_path, csv_path = write_config(result, args.out, args.trials_csv)
    print(f"wrote {toml_path} and {csv_path}")
    return EXIT_OK
