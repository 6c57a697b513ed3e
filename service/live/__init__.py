"""Live signals: view counts in time buckets, deduplicated, shared by every worker and instance.

The store
---------
:class:`LiveStore` is the small interface; :class:`RedisLiveStore` keeps everything in Redis
(shared by all workers and instances, survives restarts), :class:`SqliteLiveStore` in one
SQLite file (the default without Redis: shared by every worker of one host, survives
restarts; :mod:`service.live.sqlite_store`), :class:`LocalLiveStore` in the process (tests).
All pass the same contract tests. What they keep (Redis keys, all under ``nr:live:``):

- ``seen:<session hash>:<article id>``: one key per (session, article) pair seen within the
  dedup window, ``SET NX PX`` with the window as its lifetime: no row per view, and the
  session appears only as its keyed hash.
- ``h:<YYYYMMDDHH>`` and ``h:<YYYYMMDDHH>:cat:<section>``: sorted sets of views per article in
  one UTC hour of the view's timestamp, overall and per section (the section the article had
  when it was viewed); each expires 49 hours after its hour ends.
- ``d:<YYYYMMDD>``: views per article per UTC day, kept 8 days after the day ends (the
  trending baseline).
- ``gen`` and ``articles``: the lifecycle generation and overlay (see :mod:`service.live.articles`).
- ``writer:<random id>``: the number of the last buffered write a worker process applied
  (see :meth:`RedisLiveStore.flush`), kept an hour after it.

Recording a request's views is one Lua script call (one round trip): per view, ``SET NX PX``
on its dedup key, which decides at once whether it counts. The counted views go to a buffer
of the worker process, which its thread writes every ``NEWSREC_LIVE_FLUSH_SECONDS`` (1 s):
one ``ZINCRBY`` per bucket and article (hour, hour-and-section, day) however many views it
had, and each bucket touched gets its absolute expiry (``EXPIREAT``). Redis is single-threaded
and shares the cores with the page workers, so its time per view is what ingestion costs page
reads (``bench/ingest.py``): the increments were two thirds of it, and a popular article
takes one per second instead of one per view. The price: counts reach Redis up to a second
late (well inside a refresh tick), and a worker killed without a graceful stop loses its last
second of counts (its event log lines stay, so the next training has them). With the setting
at 0, the increments go in the same script as the dedup keys. Experiment tallies
(``x:<YYYYMMDD>`` hashes) are buffered alike: the request's round trip checks the ``once`` and
``after`` keys, the ``HINCRBY`` waits for the flush.

Windows and the bundle (the merge rule)
---------------------------------------
A view is counted either by the bundle or live, never both: the bundle counts views up to its
``now`` (the end of its popularity windows), the live buckets count those after it.

- ``1h`` and ``24h`` are sliding windows ending at the current time ``T``: the part after the
  bundle's ``now`` comes from the live buckets (a bucket only partly inside the window counts
  in proportion, assuming its views are spread evenly over the part of the hour that has
  passed); the part before ``now``, if any (a bundle less than a day old), from the bundle's
  windows, assuming views spread evenly within each of its windows (the last day, the 6 days
  before, the 23 before those). With a bundle older than the window, only live counts.
- ``1d``, ``7d``, ``30d`` and ``all`` are the bundle's windows (ending at its ``now``) plus
  every live view after ``now``: counts only grow between two trainings, and a daily training
  slides the windows on. Live views older than the day buckets (8 days) are gone: train at
  least weekly.
- Trending compares the last 24 hours with the 7 days before, both merged by the same rule,
  through :func:`recommender.popularity.trending_score`; an article needs
  ``NEWSREC_TRENDING_MIN_VIEWS`` views in the last 24 hours to trend.

Each worker computes these per refresh *tick* (``NEWSREC_LIVE_REFRESH_SECONDS``, default 5):
one pipelined round trip of weighted ``ZUNION`` commands per tick, never one per request. Ticks
are aligned to the clock, so every worker's snapshot of a tick uses the same ``T`` and their
answers agree; responses that show live counts are cached for at most one tick.
"""
