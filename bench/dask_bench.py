#!/usr/bin/env python3
"""Dask side of Kiln's benchmark harness; connects to a running dask.distributed cluster.

usage: dask_bench.py --scheduler-file F SUBCOMMAND ARGS...
    cold N                          count of range(N) in a 2-partition bag (db.range)
    sched_tasks N                   N no-op tasks (client.map), timed around map+wait
    sched_jobs N                    N sequential submit(...).result() after 20 warm-ups
    wordcount INPUT OUTPUT PARTS    bag: read_text -> split -> flatten -> frequencies
    sort INPUT OUTPUT PARTS         dataframe: key = first 10 chars, sort_values
    pagerank INPUT ITERS OUTPUT PARTS
                                    dataframe: links indexed by source (persisted), ITERS
                                    rounds of join -> contributions -> sum by destination

stdout carries only "BENCH <key> <value>" lines; diagnostics go to stderr.
"session_seconds" is the time to import distributed and connect a Client (workers
are already up: the harness starts the cluster first). Imports are deferred to the
subcommand that needs them, because `cold` is timed as a whole process.
"""

import math
import os
import sys
import time

T_START = time.perf_counter()


def emit(key, value):
    if isinstance(value, float):
        value = f"{value:.6f}"
    sys.stdout.write(f"BENCH {key} {value}\n")
    sys.stdout.flush()


def noop(x):
    return x


def connect(scheduler_file):
    from distributed import Client

    return Client(scheduler_file=scheduler_file)


def input_paths(path):
    """A file as is; a directory as its files, skipping names starting with _ or ."""
    if not os.path.isdir(path):
        return path
    names = sorted(n for n in os.listdir(path) if not n.startswith(("_", ".")))
    return [os.path.join(path, n) for n in names if os.path.isfile(os.path.join(path, n))]


def cold(client, n):
    import dask.bag as db

    # db.range is from_sequence(range(n), npartitions=2) without materialising the
    # list in the client and shipping it in the graph (Spark side: SparkContext.range).
    count = db.range(n, npartitions=2).count().compute()
    emit("count", count)
    return 0 if count == n else 1


def sched_tasks(client, n):
    from distributed import wait

    t0 = time.perf_counter()
    futures = client.map(noop, range(n), pure=False)
    wait(futures)
    emit("seconds", time.perf_counter() - t0)
    bad = [f for f in futures if f.status != "finished"]
    if bad:
        print(f"dask_bench: {len(bad)} of {n} tasks did not finish", file=sys.stderr)
        return 1
    return 0


def sched_jobs(client, n):
    for i in range(20):  # warm-up, not measured
        client.submit(noop, i, pure=False).result()
    ms = []
    t0 = time.perf_counter()
    for i in range(n):
        s = time.perf_counter()
        client.submit(noop, i, pure=False).result()
        ms.append((time.perf_counter() - s) * 1e3)
    total = time.perf_counter() - t0
    ms.sort()
    median = 0.0 if n == 0 else (ms[n // 2] if n % 2 else (ms[n // 2 - 1] + ms[n // 2]) / 2)
    p99 = 0.0 if n == 0 else ms[max(0, math.ceil(0.99 * n) - 1)]  # nearest rank
    emit("median_ms", median)
    emit("p99_ms", p99)
    emit("seconds", total)
    return 0


def format_count(word_count):
    return f"{word_count[0]}\t{word_count[1]}"


def wordcount(client, inp, out, parts):
    # Bag.frequencies is a tree reduction into ONE partition (split_every = fan-in,
    # left at Dask's default); the bag API gives no way to ask for PARTS outputs.
    import dask.bag as db

    del parts
    t0 = time.perf_counter()
    counts = (db.read_text(input_paths(inp), blocksize="128MiB")
              .str.split().flatten().frequencies())
    os.makedirs(out, exist_ok=True)
    counts.map(format_count).to_textfiles(os.path.join(out, "*.part"), last_endline=True)
    emit("seconds", time.perf_counter() - t0)
    return 0


def key_and_line(line):
    return (line[:10], line)


def write_partition(lines, out, partition_info=None):
    """Writes one sorted partition's lines (each already ends in '\n') to OUT/NNNNN.part."""
    import pandas as pd

    path = os.path.join(out, f"{partition_info['number']:05d}.part")
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write("".join(lines))
    return pd.Series([len(lines)], dtype="int64")


def sort(client, inp, out, parts):
    import dask.bag as db
    import pandas as pd

    t0 = time.perf_counter()
    meta = pd.DataFrame({"key": pd.Series([], dtype="str"), "line": pd.Series([], dtype="str")})
    df = (db.read_text(input_paths(inp), blocksize="128MiB")
          .map(key_and_line).to_dataframe(meta=meta))
    ordered = df.sort_values("key", npartitions=parts)
    os.makedirs(out, exist_ok=True)
    # Written from the DataFrame side: converting a P2P-shuffled frame back to a bag
    # breaks the shuffle barrier (dask/dask#11825).
    written = ordered["line"].map_partitions(write_partition, out, meta=("n", "int64"))
    total = int(written.sum().compute())
    emit("seconds", time.perf_counter() - t0)
    emit("records", total)
    return 0


# PageRank (Spark's SparkPageRank example; semantics in bench/README.md).
#
# Why dask.dataframe and not dask.bag: a bag has no join between two bags and handles
# every edge as a Python tuple in the interpreter (20M edges a round); a DataFrame keeps
# the edges in int64 columns and joins and sums them in pandas. Spark's trick of
# partitioning links and ranks alike, so that only the contributions move, is spelled
# the Dask way: links and every round's ranks are indexed by vertex with the same known
# divisions (PARTS ranges of ids), so their join is partition by partition, and each
# round shuffles only the contributions (set_index to those divisions, after a
# per-partition pre-sum, as Spark's reduceByKey combines on the map side). Links are
# persisted once; ranks are persisted every round, the usual way to keep an iterative
# Dask graph from growing with the number of rounds.

def vertex_index():
    import pandas as pd

    return pd.Index([], dtype="int64", name="vertex")


def with_out_degree(part):
    """links partition (index src, column dst; a source never spans two partitions):
    adds each source's out-degree |dsts|."""
    return part.assign(degree=part.groupby(level=0)["dst"].transform("size").astype("int64"))


def initial_ranks(links):
    import pandas as pd

    index = links.index.unique().rename("vertex")
    return pd.Series(1.0, index=index, name="rank", dtype="float64")


def contributions(links, ranks):
    """One partition of links JOIN ranks -> (dst, rank / |dsts|), pre-summed by dst."""
    import pandas as pd

    joined = links.join(ranks, how="inner")
    contrib = pd.DataFrame({"dst": joined["dst"].to_numpy(),
                            "c": (joined["rank"] / joined["degree"]).to_numpy()})
    return contrib.groupby("dst", sort=False, as_index=False)["c"].sum()


def new_ranks(contribs):
    """One partition of the contributions, indexed by dst -> 0.15 + 0.85 * sum."""
    sums = contribs.groupby(level=0)["c"].sum()
    ranks = 0.15 + sums * 0.85
    ranks.index.name = "vertex"
    return ranks.rename("rank")


def write_ranks(ranks, out, partition_info=None):
    """Writes one partition of ranks as "vertex\trank" lines to OUT/NNNNN.part."""
    import pandas as pd

    path = os.path.join(out, f"{partition_info['number']:05d}.part")
    with open(path, "w", encoding="utf-8", newline="") as f:
        # tolist(): Python ints and floats, whose str() is the shortest round trip.
        f.write("".join(f"{v}\t{r}\n" for v, r in zip(ranks.index.tolist(), ranks.tolist())))
    return pd.Series([len(ranks)], dtype="int64")


def pagerank(client, inp, iters, out, parts):
    import dask.dataframe as dd
    import pandas as pd

    t0 = time.perf_counter()
    edges = dd.read_csv(input_paths(inp), sep=" ", header=None, names=["src", "dst"],
                        dtype="int64").persist()
    top = int(edges.max().max().compute())
    # PARTS equal ranges of [0, top]; the generator's ids are in random order of degree.
    bounds = sorted({top * i // parts for i in range(parts)} | {top})
    divisions = tuple(bounds) if len(bounds) > 1 else (0, 0)
    links_meta = pd.DataFrame({"dst": pd.Series([], dtype="int64"),
                               "degree": pd.Series([], dtype="int64")},
                              index=pd.Index([], dtype="int64", name="src"))
    links = (edges.set_index("src", divisions=divisions)
             .map_partitions(with_out_degree, meta=links_meta).persist())
    del edges
    ranks_meta = pd.Series([], dtype="float64", name="rank", index=vertex_index())
    ranks = links.map_partitions(initial_ranks, meta=ranks_meta)
    contrib_meta = pd.DataFrame({"dst": pd.Series([], dtype="int64"),
                                 "c": pd.Series([], dtype="float64")})
    for _ in range(iters):
        contribs = dd.map_partitions(contributions, links, ranks, meta=contrib_meta)
        ranks = (contribs.set_index("dst", divisions=divisions)
                 .map_partitions(new_ranks, meta=ranks_meta).persist())
    os.makedirs(out, exist_ok=True)
    written = ranks.map_partitions(write_ranks, out, meta=("n", "int64"))
    total = int(written.sum().compute())
    emit("seconds", time.perf_counter() - t0)
    emit("vertices", total)
    return 0


USAGE = ("usage: dask_bench.py --scheduler-file F (cold N | sched_tasks N | sched_jobs N |"
         " wordcount INPUT OUTPUT PARTS | sort INPUT OUTPUT PARTS |"
         " pagerank INPUT ITERS OUTPUT PARTS)")


def main(argv):
    if len(argv) < 4 or argv[1] != "--scheduler-file":
        print(USAGE, file=sys.stderr)
        return 2
    scheduler_file, sub, args = argv[2], argv[3], argv[4:]
    arity = {"cold": 1, "sched_tasks": 1, "sched_jobs": 1, "wordcount": 3, "sort": 3, "pagerank": 4}
    if arity.get(sub) != len(args):
        print(USAGE, file=sys.stderr)
        return 2
    client = connect(scheduler_file)
    try:
        if sub == "cold":
            return cold(client, int(args[0]))
        emit("session_seconds", time.perf_counter() - T_START)
        if sub == "sched_tasks":
            return sched_tasks(client, int(args[0]))
        if sub == "sched_jobs":
            return sched_jobs(client, int(args[0]))
        if sub == "wordcount":
            return wordcount(client, args[0], args[1], int(args[2]))
        if sub == "pagerank":
            return pagerank(client, args[0], int(args[1]), args[2], int(args[3]))
        return sort(client, args[0], args[1], int(args[2]))
    finally:
        client.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv))
