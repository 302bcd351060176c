"""``motcua run gateway|processor|writer|exporter|topics`` and ``motcua publish FILE...``:
the live pipeline's entry points (settings from MOTCUA_* environment variables, see
docs/live-pipeline.md); each service is built by ``bootstrap``."""

from __future__ import annotations

from pathlib import Path

import typer

from .common import StoreOption

run_app = typer.Typer(
    help="Run a live pipeline service (Kafka + ClickHouse).",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)

BootstrapOption = typer.Option(
    None, "--bootstrap", help="Kafka bootstrap servers (default $MOTCUA_KAFKA_BOOTSTRAP)."
)


def _settings(bootstrap: str | None = None, **extra):
    from ..live.config import LiveSettings

    overrides = {k: v for k, v in extra.items() if v is not None}
    if bootstrap:
        overrides["kafka_bootstrap"] = bootstrap
    return LiveSettings(**overrides)


@run_app.command()
def gateway(
    bootstrap: str | None = BootstrapOption,
    port: int | None = typer.Option(None, help="HTTP port (default $MOTCUA_GATEWAY_PORT, 8080)."),
    allow_anonymous: bool = typer.Option(
        False, help="Accept requests without an API key when no keys are configured (development only)."
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """HTTP ingest: POST /v1/events (JSON, JSON array, NDJSON, Avro), /health, /metrics.
    Starts even while Kafka is unreachable (/health answers 503 until it is back)."""
    from .. import bootstrap as root  # `bootstrap` here is the Kafka option
    from ..live.logs import setup

    settings = _settings(bootstrap, gateway_port=port)
    try:
        bindings = settings.api_key_bindings()
    except ValueError:
        typer.echo(
            "Lỗi: MOTCUA_API_KEYS sai định dạng, cần 'source_system:khoá,source_system:khoá', "
            "mỗi khoá là 'sha256:<64 chữ số hex của SHA-256 khoá>' hoặc (khi phát triển) chính khoá "
            "(ví dụ motcua-dongnai:sha256:2bb80d53...,dvcqg:khac).",
            err=True,
        )
        raise typer.Exit(2) from None
    if not bindings and not allow_anonymous:
        typer.echo(
            "Lỗi: chưa cấu hình khoá API. Đặt MOTCUA_API_KEYS=source_system:khoá,... "
            "(mỗi khoá chỉ gửi được sự kiện của các source_system gắn với nó), "
            "hoặc dùng --allow-anonymous khi phát triển.",
            err=True,
        )
        raise typer.Exit(2)
    setup("gateway", log_level)
    root.run_gateway(settings, allow_anonymous=allow_anonymous)


@run_app.command()
def processor(
    bootstrap: str | None = BootstrapOption,
    metrics_port: int | None = typer.Option(None, help="Prometheus port (default 9101; 0 disables)."),
    datadir: str | None = typer.Option(
        None,
        help="Faust data dir: the state's RocksDB, rebuilt from the changelog at each start "
        "(one per worker on a machine).",
    ),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """The faust-streaming worker: events -> dossier state table -> dossier facts."""
    from .. import bootstrap as root

    root.run_processor(
        _settings(bootstrap, processor_metrics_port=metrics_port, processor_datadir=datadir),
        loglevel=log_level,
    )


@run_app.command()
def writer(
    bootstrap: str | None = BootstrapOption,
    store: str | None = typer.Option(None, "--store", help="Store DSN (default $MOTCUA_STORE)."),
    metrics_port: int | None = typer.Option(None, help="Prometheus port (default 9102; 0 disables)."),
    log_level: str = typer.Option("INFO", "--log-level"),
) -> None:
    """Dossier facts and dead letters -> ClickHouse, in idempotent batches."""
    from .. import bootstrap as root
    from ..live.logs import setup
    from .common import CliError, check_store_dsn

    settings = _settings(bootstrap, store=store, writer_metrics_port=metrics_port)
    # what is wrong with the DSN itself, at once; an unreachable store is retried by the writer
    check_store_dsn(settings.store_dsn())
    try:
        root.calendar(settings)  # a bad calendar file: one line before the writer starts
    except root.ConfigError as err:
        raise CliError(err.message) from None
    setup("writer", log_level)
    from ..adapters.clickhouse_store import SchemaFormError

    try:
        root.run_writer(settings)
    except SchemaFormError as err:  # MOTCUA_SCHEMA does not fit the store: one line, exit 2
        raise CliError(str(err)) from None


@run_app.command()
def exporter(
    port: int = typer.Option(9464, help="HTTP port of /metrics."),
    addr: str = typer.Option("0.0.0.0", help="Address to listen on."),
    interval: float = typer.Option(60.0, help="Seconds between two reads of the store."),
    as_of: str | None = typer.Option(
        None, "--as-of", help="Evaluate windows at this fixed instant (replays, demos) instead of now."
    ),
    unit_metrics: list[str] = typer.Option(
        ["on_time_rate"], "--unit-metric", help="Metrics also published per unit (bounded cardinality)."
    ),
    targets_file: Path | None = typer.Option(
        None, "--targets", help="Targets YAML instead of the stored targets."
    ),
    store: str | None = StoreOption,
) -> None:
    """Prometheus exporter: live counts per level and per unit, backlog and active targets
    (see docs/control-room.md for metric names). Runs until interrupted."""
    from .. import bootstrap as root
    from ..domain.metrics import METRICS_BY_ID
    from ..settings import get_settings
    from .common import console, load_calendar, open_store, parse_instant_option
    from .targets import load_targets_file

    for m in unit_metrics:
        if m not in METRICS_BY_ID:
            raise typer.BadParameter(f"unknown metric {m!r}", param_hint="--unit-metric")
    st = open_store(store)
    fixed = parse_instant_option(as_of, "--as-of") if as_of else None
    targets = load_targets_file(targets_file) if targets_file else None
    load_calendar()  # a bad calendar file: one line, before serving

    def now_ms() -> int:
        return fixed if fixed is not None else parse_instant_option(None, "--as-of")

    console.print(f"motcua exporter: http://{addr}:{port}/metrics, đọc số liệu mỗi {interval:g} giây")
    try:
        root.run_exporter(
            get_settings(),
            st,
            port=port,
            addr=addr,
            interval=interval,
            now_ms=now_ms,
            unit_metrics=unit_metrics,
            targets=targets,
        )
    except KeyboardInterrupt:
        pass


@run_app.command()
def topics(bootstrap: str | None = BootstrapOption) -> None:
    """Create the pipeline's topics (idempotent) and print them."""
    from ..live.topics import ensure_topics, topic_specs

    s = _settings(bootstrap)
    created = set(ensure_topics(s))
    for spec in topic_specs(s):
        typer.echo(
            f"{spec.name}\t{spec.partitions}\t{spec.config.get('cleanup.policy')}"
            f"\t{'created' if spec.name in created else 'exists'}"
        )


def publish(
    files: list[Path] = typer.Argument(
        ..., help="JSON Lines or Avro event files.", exists=True, dir_okay=False
    ),
    bootstrap: str | None = BootstrapOption,
    max_wait: float = typer.Option(
        600.0,
        "--max-wait",
        min=1.0,
        help="Seconds one chunk of records may wait for Kafka's acknowledgement, retries "
        "included (the longest outage ridden out); past it: an error saying how many "
        "records were acknowledged, exit code 1.",
    ),
) -> None:
    """Load event files into Kafka: validated, Avro-encoded, keyed by dossier_id; bad
    records go to the dead-letter topic with their reason. Records go in chunks of 20,000;
    a chunk Kafka refused (retryable error) or did not acknowledge is sent again, whole,
    after a growing pause (0.5 s, 1 s, 2 s, ... at most 30 s), one line on stderr per retry,
    until Kafka acknowledged all of it (acks=all); Kafka unreachable at the start is waited
    for the same way. Sending again is safe: a record Kafka
    already had is a duplicate event_id, which the pipeline drops; the same file published
    twice changes no figure."""
    from ..adapters.codec import iter_file
    from ..adapters.kafka_clients import producer as make_producer
    from ..domain.formatting import fmt_int
    from ..live.publishing import GaveUp, KafkaChunks, Policy, Totals, chunked, deliver_all, retrying
    from ..live.topics import ensure_topics

    s = _settings(bootstrap)
    sender = KafkaChunks(
        lambda: make_producer(
            s.kafka_bootstrap, client_id="motcua-publish", linger_ms=20, max_block_ms=10_000
        ),
        s.events_topic,
        s.dead_letters_topic,
    )
    records = (rec for path in files for rec in iter_file(path))
    policy, totals = Policy(max_wait_s=max_wait, on_retry=_say_retry), Totals()
    try:
        retrying(lambda budget: ensure_topics(s, timeout_s=min(budget, 60.0)), policy, totals, 0, 0)
        deliver_all(chunked(records, 20_000), sender, policy, totals)
        sender.close()
    except GaveUp as err:
        what = f"xác nhận lô {fmt_int(err.chunk)}" if err.chunk else "sẵn sàng"
        typer.echo(
            f"Lỗi: Kafka chưa {what} sau {fmt_int(err.waited_s)} giây "
            f"({err.error}); đã xác nhận {fmt_int(err.totals.accepted + err.totals.rejected)} bản ghi "
            f"({fmt_int(err.totals.accepted)} sự kiện, {fmt_int(err.totals.rejected)} vào dead letters). "
            "Chạy lại lệnh với cùng tệp khi Kafka hoạt động: bản ghi đã gửi sẽ được bỏ qua vì trùng.",
            err=True,
        )
        raise typer.Exit(1) from None
    finally:
        sender.discard()
    typer.echo(
        f"Đã gửi vào Kafka {fmt_int(totals.accepted)} sự kiện (accepted); "
        f"từ chối {fmt_int(totals.rejected)} → dead letters (rejected); "
        f"gửi lại {fmt_int(totals.retries)} lần (retries)"
    )


def _say_retry(r) -> None:
    from ..domain.formatting import fmt_decimal, fmt_int

    what = (
        f"xác nhận lô {fmt_int(r.chunk)} ({fmt_int(r.records)} bản ghi)"
        if r.chunk
        else "sẵn sàng (kiểm tra topic)"
    )
    typer.echo(
        f"Kafka chưa {what}: {r.error}; "
        f"thử lại lần {fmt_int(r.attempt)} sau {fmt_decimal(r.delay_s)} giây "
        f"(đã chờ {fmt_int(r.waited_s)}/{fmt_int(r.max_wait_s)} giây)",
        err=True,
    )


def register(app: typer.Typer) -> None:
    app.add_typer(run_app, name="run")
    app.command(name="publish")(publish)
