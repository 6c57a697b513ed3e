#!/bin/sh
# The trainer of docker-compose.yml: retrain newsrec every NEWSREC_TRAIN_INTERVAL seconds.
#
# On start, when the data directory is empty (and no WordPress database is configured), it
# writes the sample data of `newsrec generate-sample`, so `docker compose up` serves something.
# Each round (optionally) imports the articles from WordPress, then runs `newsrec train` into
# the models directory. `newsrec train` publishes atomically (LATEST is replaced last), and the
# api containers poll LATEST, so they pick the new bundle up by themselves. A failed round is
# logged and the previous bundle stays in service.
#
# Environment (all optional):
#   NEWSREC_DATA_DIR                 input directory (default /data)
#   NEWSREC_MODELS_DIR               models directory (default /models)
#   NEWSREC_TRAIN_INTERVAL           seconds between the starts of two rounds (default 3600)
#   NEWSREC_ARTICLES                 articles file (default $NEWSREC_DATA_DIR/articles.jsonl)
#   NEWSREC_VIEWS                    views file, used when it exists
#                                    (default $NEWSREC_DATA_DIR/views.csv)
#   NEWSREC_TRAIN_CONFIG             TOML file with a [train] table (newsrec train --config)
#   NEWSREC_SAMPLE_ARTICLES          sample data size on first start (default 3000)
#   NEWSREC_SAMPLE_DAYS              days the sample data covers (default 30)
#   NEWSREC_WORDPRESS_DB             mysql://user:password@host[:port]/database: import the
#                                    published posts into NEWSREC_ARTICLES before each round
#   NEWSREC_WORDPRESS_TABLE_PREFIX   its table prefix (default wp_)
#   NEWSREC_TRAIN_ONCE               1: one round, then exit with its status (for cron / jobs)
set -eu

data_dir=${NEWSREC_DATA_DIR:-/data}
models_dir=${NEWSREC_MODELS_DIR:-/models}
interval=${NEWSREC_TRAIN_INTERVAL:-3600}
articles=${NEWSREC_ARTICLES:-$data_dir/articles.jsonl}
views=${NEWSREC_VIEWS:-$data_dir/views.csv}
config=${NEWSREC_TRAIN_CONFIG:-}
sample_articles=${NEWSREC_SAMPLE_ARTICLES:-3000}
sample_days=${NEWSREC_SAMPLE_DAYS:-30}
wordpress_db=${NEWSREC_WORDPRESS_DB:-}
wordpress_prefix=${NEWSREC_WORDPRESS_TABLE_PREFIX:-wp_}
once=${NEWSREC_TRAIN_ONCE:-0}

log() {
    echo "trainer: $(date -u +%Y-%m-%dT%H:%M:%SZ) $*" >&2
}

whole_number() {  # name value
    case $2 in
        '' | *[!0-9]*)
            log "$1 must be a whole number of seconds or items, got '$2'"
            exit 2
            ;;
    esac
    if [ "$2" -lt 1 ]; then
        log "$1 must be at least 1, got '$2'"
        exit 2
    fi
}

whole_number NEWSREC_TRAIN_INTERVAL "$interval"
whole_number NEWSREC_SAMPLE_ARTICLES "$sample_articles"
whole_number NEWSREC_SAMPLE_DAYS "$sample_days"

# docker stop sends SIGTERM to this script: stop at once, also in the middle of a round (the
# round's process is terminated; newsrec train publishes atomically, so nothing half-written is
# ever served). Commands run in the background under `wait` because a shell runs its traps
# only between commands, and `wait` returns as soon as a signal arrives.
child=
stop() {
    log "stopping"
    if [ -n "$child" ]; then
        kill -TERM "$child" 2>/dev/null || true
    fi
    exit 0
}
trap stop TERM INT

run() {
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    child=
    return "$status"
}

mkdir -p "$data_dir" "$models_dir"
# The sample is written aside and moved in when complete: a stop in the middle leaves only the
# partial directory, which is removed here, so the next start writes the sample again.
partial=$data_dir/.sample-partial
rm -rf "$partial"
if [ -z "$wordpress_db" ] && [ -z "$(ls -A "$data_dir")" ]; then
    log "$data_dir is empty: writing sample data ($sample_articles articles, $sample_days days)"
    run newsrec generate-sample --articles "$sample_articles" --days "$sample_days" \
        --out "$partial"
    mv "$partial"/* "$data_dir"/
    rmdir "$partial"
fi

train_round() {
    if [ -n "$wordpress_db" ]; then
        run newsrec import wordpress --db "$wordpress_db" --table-prefix "$wordpress_prefix" \
            --out "$articles" || return $?
    fi
    set -- train --articles "$articles" --out "$models_dir" --no-progress
    if [ -e "$views" ]; then
        set -- "$@" --views "$views"
    fi
    if [ -n "$config" ]; then
        set -- "$@" --config "$config"
    fi
    run newsrec "$@"
}

while :; do
    started=$(date +%s)
    log "training from $articles into $models_dir"
    round=0
    train_round || round=$?
    if [ "$round" -eq 0 ]; then
        log "round done; the api picks the new bundle up from $models_dir/LATEST"
    else
        log "round failed (exit $round); the api keeps serving the previous bundle"
    fi
    if [ "$once" = 1 ]; then
        exit "$round"
    fi
    pause=$((interval - ($(date +%s) - started)))
    if [ "$pause" -lt 1 ]; then
        pause=1
    fi
    log "next round in $pause s"
    run sleep "$pause" || true
done
