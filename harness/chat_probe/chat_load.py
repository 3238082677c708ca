"""Loads: traffic for a while (WebSocket rooms, HTTP loops) and the figures it gave: rates,
latencies, what was lost, when serving failed."""

import asyncio
import collections
import http.client
import os
import re
import threading
import time

from chat_client import close_all, describe, dropped, http_get, open_sockets


async def collect(sock, prefix, stop, latencies=None, wait=lambda: 2, seen=None):
    """Count unique messages starting with prefix on sock until stop() says so. latencies: a list
    to add (when it was sent, its delivery time) to for each message (its last word: when it was
    sent, time.monotonic()). seen: a set to add each message to.
    wait(): the seconds to wait for a message before asking stop() again (sock.wake() asks it
    at once)."""
    seen, duplicates = set() if seen is None else seen, 0
    while not stop(len(seen)):
        # Woken by each message or by sock.wake(); without them, only every wait() seconds:
        # 10,000 clients polling every 2 s cost the probe more CPU than the messages.
        message = await sock.recv(wait())
        if message is None:
            if sock.close_code is not None:
                break
        elif message.startswith(prefix):
            if latencies is not None and message not in seen:
                sent_at = float(message.rsplit(" ", 1)[1])
                latencies.append((sent_at, time.monotonic() - sent_at))
            duplicates += message in seen
            seen.add(message)
    return len(seen), duplicates


async def check_burst(args, result):
    n, m = args.clients, args.messages
    run = os.urandom(4).hex()
    room = f"burst_{run}"
    result.update(room=room, clients=n, messages=m, sent=0, expected_deliveries=n * n * m)
    urls = [args.url] + args.extra_url  # clients spread over several servers (make bench)
    socks = await open_sockets(args, [(urls[i % len(urls)], room) for i in range(n)])
    send_errors = 0

    async def sender(i, sock):
        nonlocal send_errors
        for k in range(m):
            try:
                await sock.send(f"{run} {i} {k}")
            except OSError:  # the connection is gone: collect() reports it
                send_errors += 1
                return
            result["sent"] += 1

    def stop(count):
        return count >= n * m or time.monotonic() > deadline

    start = time.monotonic()
    deadline = start + args.timeout
    try:
        counts = await asyncio.gather(
            *(collect(s, f"{run} ", stop) for s in socks), *(sender(i, s) for i, s in enumerate(socks))
        )
        counts = counts[:n]
        result["seconds"] = round(time.monotonic() - start, 2)
        result["dropped"] = dropped(socks)
    finally:
        await close_all(socks)
    received = sum(c for c, dummy in counts)
    result.update(
        received=received,
        lost=n * n * m - received,
        duplicates=sum(d for dummy, d in counts),
        clients_complete=sum(c == n * m for c, dummy in counts),
        send_errors=send_errors,
        deliveries_per_second=round(received / max(result["seconds"], 0.001), 1),
    )
    if result["lost"]:
        return f"{result['lost']} of {n * n * m} deliveries missing after {result['seconds']} s"
    return None


def percentile(values, share):
    """The value below which `share` (0..1) of the sorted values lie (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


async def steady_window(socks, tag, seconds, warmup, timeout):
    """One closed-loop window on socks: every client sends a message, waits until the room's
    broadcast brings it back, and sends the next. What arrives between warmup and warmup +
    seconds counts (messages marked with tag only). A message not back within timeout counts as
    lost and its client sends the next one. Returns the tally and the round trips' latencies."""
    start = time.monotonic()
    begin, end = start + warmup, start + warmup + seconds
    tally = {"deliveries": 0, "round_trips": 0, "lost": 0, "send_errors": 0}
    latencies = []

    async def client(i, sock):
        k = 0
        while (sent := time.monotonic()) < end:
            text = f"{tag} {i} {k}"
            k += 1
            try:
                await sock.send(text)
            except OSError:  # the connection is gone: reported with the close codes
                tally["send_errors"] += 1
                return
            while (message := await sock.recv(sent + timeout - time.monotonic())) != text:
                if message is None:
                    if sock.close_code is not None:
                        return
                    tally["lost"] += 1
                    break
                if begin <= time.monotonic() < end and message.startswith(f"{tag} "):
                    tally["deliveries"] += 1
            else:
                now = time.monotonic()
                if begin <= now < end:
                    tally["deliveries"] += 1
                    if begin <= sent:
                        tally["round_trips"] += 1
                        latencies.append(now - sent)

    await asyncio.gather(*(client(i, s) for i, s in enumerate(socks)))
    return tally, latencies


def window_figures(tally, latencies, seconds):
    """deliveries/s and latency percentiles of one window."""
    figures = {"deliveries_per_second": round(tally["deliveries"] / seconds, 1)}
    if latencies:
        figures.update(latency_p50_ms=round(percentile(latencies, 0.5) * 1000, 1),
                       latency_p99_ms=round(percentile(latencies, 0.99) * 1000, 1))
    return figures


async def check_steady(args, result):
    """Chat deliveries per second at a steady pace, and how long a message takes to come back.

    A burst's rate swings with how its start and end fall; a closed loop does not (see
    steady_window). Only what arrives between --warmup and --warmup + --seconds counts, so
    connecting and the last messages in flight stay out of the figure. A client never has more
    than one message of its own in flight, so the channel layer's per-channel capacity is never
    what limits the rate.
    """
    n, rooms = args.clients, args.rooms
    run = os.urandom(4).hex()
    result.update(clients=n, rooms=rooms, seconds=args.seconds, warmup=args.warmup)
    urls = [args.url] + args.extra_url  # clients spread over several servers (make bench)
    socks = await open_sockets(args, [(urls[i % len(urls)], f"steady_{run}_{i % rooms}") for i in range(n)])
    try:
        tally, latencies = await steady_window(socks, run, args.seconds, args.warmup, args.timeout)
        result["dropped"] = dropped(socks)
    finally:
        await close_all(socks)
    result.update(tally)
    result.update(window_figures(tally, latencies, args.seconds))
    if result["dropped"] or tally["send_errors"]:
        return f"connections ended during the run (close codes {result['dropped']})"
    if tally["lost"] > args.max_lost:
        return f"{tally['lost']} messages did not come back to their sender within {args.timeout} s"
    if not tally["round_trips"]:
        return f"no message came back within the {args.seconds} s measured"
    return None


async def check_alternate(args, result):
    """Chat deliveries per second of several servers, in short windows that alternate.

    A slow spell of the machine lasts seconds: two servers measured many seconds apart are two
    machines compared. Here the servers take turns of --window seconds (steady_window), --cycles
    times, each cycle starting with the next server. Each window connects its --clients anew:
    how a server spreads connections over its processes changes its rate, and a placement kept
    for a whole run would weigh as much as the run's all windows. Per server and cycle:
    deliveries/s, latency and lost messages, so that ratios can be taken between windows a
    second apart.
    """
    run = os.urandom(4).hex()
    urls = dict(args.server)
    result.update(clients=args.clients, window=args.window, warmup=args.warmup, cycles=args.cycles)
    cycles, closed = {name: [] for name in urls}, {}
    for cycle in range(args.cycles):
        names = list(urls)
        for name in names[cycle % len(names):] + names[:cycle % len(names)]:
            room = f"alternate_{run}_{name}_{cycle}"
            socks = await open_sockets(args, [(urls[name][i % len(urls[name])], room) for i in range(args.clients)])
            try:
                tally, latencies = await steady_window(socks, f"{run}{cycle}", args.window, args.warmup, args.timeout)
                if dropped(socks) or tally["send_errors"]:
                    closed[name] = dropped(socks)
            finally:
                await close_all(socks)
            cycles[name].append(dict(tally, **window_figures(tally, latencies, args.window)))
    result.update(servers=cycles, dropped=closed)
    for name, windows in cycles.items():
        lost = sum(w["lost"] for w in windows)
        if name in closed:
            return f"{name}: connections ended during the run (close codes {closed[name]})"
        if lost > args.max_lost:
            return f"{name}: {lost} messages did not come back to their sender within {args.timeout} s"
        if not all(w["round_trips"] for w in windows):
            return f"{name}: a {args.window} s window in which no message came back"
    return None


def windowed_p99(deliveries, start, seconds):
    """[[window start (s since start), p99 delivery ms], ...] of (sent at, delay) pairs, by when
    the message was sent."""
    windows = {}
    for sent_at, delay in deliveries:
        windows.setdefault(int((sent_at - start) // seconds), []).append(delay)
    return [[k * seconds, round(percentile(windows[k], 0.99) * 1000, 1)] for k in sorted(windows)]


def reconnect_losses(sent_log, members, seen, gaps, margin=1.0, samples=None, p99_by_10s=(), start=0.0):
    """(lost while connected, lost across a reconnect, where) of the messages each client did not get.

    sent_log: {room: {message: when sent}} (a message: "RUN ROOM SENDER K WHEN"); members: each
    client's room; seen: each client's set of messages; gaps: each client's [(ended, open again)].
    A message is lost across a reconnect when its client was reconnecting then (or its connection
    ended before the message could arrive: within the time messages sent then took, the p99 of
    p99_by_10s for its 10 s since start, at least margin seconds), or when its sender's connection
    ended as soon after it was sent (the restart took it before it was passed on); any other is
    lost. where: for the first 20 lost, the seconds from the message to its client's nearest
    connection end (negative: sent before it), None without one."""
    took = {int(second // 10): ms / 1000 for second, ms in p99_by_10s}

    def on_its_way(sent_at, ended):
        return ended - max(margin, took.get(int((sent_at - start) // 10), 0)) <= sent_at <= ended

    lost = across = 0
    where = []
    for client, room in enumerate(members):
        for message, sent_at in sent_log[room].items():
            if message in seen[client]:
                continue
            sender = int(message.split(" ")[2])
            if (any(on_its_way(sent_at, ended) or ended <= sent_at <= opened for ended, opened in gaps[client])
                    or any(on_its_way(sent_at, ended) for ended, dummy in gaps[sender])):
                across += 1
                continue
            lost += 1
            if len(where) < 20:
                ends = [sent_at - ended for ended, dummy in gaps[client]]
                where.append(round(min(ends, key=abs), 2) if ends else None)
                if samples is not None and len(samples) < 10:
                    samples.append({"client": client, "message": message.split(" ", 1)[1],
                                    "gaps": [[round(e, 2), round(o, 2)] for e, o in gaps[client]]})
    return lost, across, where


def outages(failed_slots, rate):
    """[[start, seconds], ...] of each run of failed requests in schedule order (request j starts at
    j / rate); a request that succeeded between two failed ones splits them."""
    runs = []
    for j in sorted(failed_slots):
        if runs and j == runs[-1][1]:
            runs[-1][1] = j + 1
        else:
            runs.append([j, j + 1])
    return [[round(first / rate, 2), round((end - first) / rate, 2)] for first, end in runs]


async def check_load(args, result):
    run = os.urandom(4).hex()
    rooms = [f"load_{run}_{r}" for r in range(args.rooms)]
    members = [i % args.rooms for i in range(args.clients)]  # room index of each client
    result.update(clients=args.clients, rooms=args.rooms, seconds=args.seconds, http_rate=args.http_rate,
                  interval=args.interval)
    socks = await open_sockets(args, [(args.url, rooms[r]) for r in members])
    task_socks = await open_sockets(args, [(args.url, f"tasks_{run}")]) if args.task_text else []
    if args.ready_file:  # every client is connected: the caller may start what the load is for
        with open(args.ready_file, "w", encoding="utf-8"):
            pass
    sent = [0] * args.rooms
    # --reconnect: which messages each client missed, and whether it was reconnecting then.
    sent_log = [{} for dummy in range(args.rooms)]  # {message: when sent} of each room
    seen = [set() if args.reconnect else None for dummy in socks]  # the messages each client got
    for sock in socks if args.reconnect else []:
        sock.give_up_at = time.monotonic() + args.seconds + args.drain
    deliveries = []  # the delivery time of each message each client received
    # failed: the schedule slots (j) of the failed requests; last_ok: when the last good one began.
    web = {"ok": 0, "failed": 0, "statuses": {}, "errors": {}, "latencies": [], "watched": [], "failed_slots": [],
           "last_ok": None}
    start = time.monotonic()
    state = {"sending": True, "deadline": start + args.seconds + args.drain + 5}

    def stopped():
        # --stop-file: the caller ends the load early (when what it waited for is done).
        return args.stop_file is not None and os.path.exists(args.stop_file)

    async def sender(i, sock):
        # One message every --interval seconds, clients spread over the interval to avoid lockstep.
        for k in range(int(args.seconds / args.interval)):
            await asyncio.sleep(max(0, start + (i / args.clients + k) * args.interval - time.monotonic()))
            if stopped():
                return
            message = f"{run} {members[i]} {i} {k} {time.monotonic():.4f}"
            try:
                await sock.send(message)
            except OSError:
                if args.reconnect:  # reconnecting: this one is not sent
                    continue
                return
            sent[members[i]] += 1
            if args.reconnect:
                sent_log[members[i]][message] = float(message.rsplit(" ", 1)[1])

    def one_request(slot):
        begin = time.monotonic()
        try:
            status, dummy, body = http_get(args.url, args.host, args.http_path)
        except (OSError, http.client.HTTPException) as exc:
            status, error = None, describe(exc)
        else:
            error = None if status < 400 else f"HTTP {status}"
            if args.watch_text and args.watch_text.encode() in body:
                # When a new release began to answer (seconds since the start).
                web["watched"].append(round(begin - start, 2))
        web["latencies"].append(time.monotonic() - begin)
        key = str(status or "error")
        web["statuses"][key] = web["statuses"].get(key, 0) + 1
        web["ok" if error is None else "failed"] += 1
        if error:
            web["errors"][error] = web["errors"].get(error, 0) + 1
            web["failed_slots"].append(slot)
        else:
            web["last_ok"] = max(web["last_ok"] or 0, begin - start)

    async def http_loop():
        # Fixed schedule; each request runs in a thread so a slow answer does not delay the next.
        requests = []
        for j in range(int(args.seconds * args.http_rate)):
            await asyncio.sleep(max(0, start + j / args.http_rate - time.monotonic()))
            if stopped():
                break
            requests.append(asyncio.create_task(asyncio.to_thread(one_request, j)))
        await asyncio.gather(*requests)

    # --task-text: one more client sends "TEXT RUN-N" every --task-interval seconds until the load
    # ends (and --tasks-min are sent); a background worker answers "task RUN-N done by worker MARKER".
    tasks = {"sent": 0, "answers": {}, "duplicates": 0}

    async def task_sender(sock):
        while True:
            await asyncio.sleep(max(0, start + tasks["sent"] * args.task_interval - time.monotonic()))
            if (stopped() and tasks["sent"] >= args.tasks_min) or time.monotonic() > start + args.seconds:
                return
            try:
                await sock.send(f"{args.task_text} {run}-{tasks['sent']}")
            except OSError:
                return
            tasks["sent"] += 1

    async def task_collector(sock):
        answer = re.compile(rf"task {run}-(\d+) done by worker (\S+)")
        while state["sending"] or (len(tasks["answers"]) < tasks["sent"] and time.monotonic() < state["deadline"]):
            message = await sock.recv(0.5)
            if message is None and sock.close_code is not None:
                return
            if message is not None and (found := answer.search(message)):
                number = int(found.group(1))
                tasks["duplicates"] += number in tasks["answers"]
                tasks["answers"].setdefault(number, found.group(2))

    async def send_all():
        await asyncio.gather(*(sender(i, s) for i, s in enumerate(socks)), *(task_sender(s) for s in task_socks))
        state.update(sending=False, deadline=time.monotonic() + args.drain)
        for sock in socks:  # each collector: is everything sent to its room here?
            sock.wake()

    def until_deadline():
        return min(60, max(0.01, state["deadline"] - time.monotonic()))

    def stop_for(room):
        def stop(count):  # everything sent to the room has arrived, or time is up
            return (not state["sending"] and count >= sent[room]) or time.monotonic() > state["deadline"]

        return stop

    try:
        results = await asyncio.gather(
            send_all(),
            http_loop(),
            *(collect(s, f"{run} {members[i]} ", stop_for(members[i]), deliveries, until_deadline, seen[i])
              for i, s in enumerate(socks)),
            *(task_collector(s) for s in task_socks),
        )
        counts = results[2:2 + len(socks)]
        ws_disconnects = len(dropped(socks + task_socks))
    finally:
        await close_all(socks + task_socks)
    expected = sum(sent[r] * members.count(r) for r in range(args.rooms))
    received = sum(c for c, dummy in counts)
    latencies = sorted(web["latencies"]) or [0]
    delays = [delay for dummy, delay in deliveries]
    result.update(
        # "stop file": the caller ended it (what it waited for was done); "seconds": it ran out first.
        ended="stop file" if stopped() else "seconds",
        elapsed_seconds=round(time.monotonic() - start, 2),
        http_ok=web["ok"],
        http_failed=web["failed"],
        http_statuses=web["statuses"],
        http_errors=web["errors"],
        http_p50_ms=round(latencies[len(latencies) // 2] * 1000, 1),
        http_max_ms=round(latencies[-1] * 1000, 1),
        sent=sum(sent),
        expected_deliveries=expected,
        received=received,
        lost=expected - received,
        duplicates=sum(d for dummy, d in counts),
        delivery_p50_ms=round(percentile(delays, 0.5) * 1000, 1) if delays else None,
        delivery_p99_ms=round(percentile(delays, 0.99) * 1000, 1) if delays else None,
        delivery_max_ms=round(max(delays) * 1000, 1) if delays else None,
        # Where in the run the slow ones were: [second, p99 ms] of the messages sent in each
        # 10 s from the start.
        delivery_p99_ms_by_10s=windowed_p99(deliveries, start, 10),
        ws_disconnects=ws_disconnects,
        # When HTTP failed: [[start, seconds], ...] of each run of failed requests, and when the
        # last good request began (after the last run: HTTP came back).
        http_outages=outages(web["failed_slots"], args.http_rate),
        http_last_ok_seconds=None if web["last_ok"] is None else round(web["last_ok"], 2),
    )
    if args.reconnect:
        gaps = [sock.gaps for sock in socks]
        samples = []
        lost, across, where = reconnect_losses(sent_log, members, seen, gaps, samples=samples,
                                               p99_by_10s=result["delivery_p99_ms_by_10s"], start=start)
        longest = max((opened - ended for client in gaps for ended, opened in client), default=0)
        result.update(
            lost=lost,
            lost_across_reconnect=across,
            # For the first lost ones: seconds from when each was sent to its client's nearest
            # reconnect (negative: before the connection ended).
            lost_from_reconnect_seconds=where,
            # The first lost ones: the client, the message (room, sender, number, when sent) and
            # the client's reconnects (ended, open again), in time.monotonic() seconds.
            lost_samples=samples,
            ws_reconnects=sum(len(client) for client in gaps),
            ws_clients_reconnected=sum(1 for client in gaps if client),
            # The longest time a client had no connection (from its end to the new one open).
            ws_reconnect_max_ms=round(longest * 1000, 1),
            ws_not_reconnected=sum(1 for sock in socks if sock.close_code is not None),
            # Why attempts to reconnect failed (each a delay of 0.1 s, doubled each time): the
            # five most frequent reasons, with their counts.
            ws_reconnect_failures=collections.Counter(
                reason for sock in socks for reason in sock.failed_attempts).most_common(5),
        )
    if args.watch_text:
        result.update(watch_text=args.watch_text, watch_text_responses=len(web["watched"]),
                      watch_text_first_seconds=min(web["watched"], default=None))
    if args.task_text:
        answers = tasks["answers"]
        missing = sorted(set(range(tasks["sent"])) - set(answers))
        result.update(tasks_sent=tasks["sent"], tasks_answered=len(answers), tasks_duplicates=tasks["duplicates"],
                      tasks_missing=missing[:20], tasks_by_worker={m: list(answers.values()).count(m)
                                                                   for m in sorted(set(answers.values()))},
                      tasks_last_worker=answers[max(answers)] if answers else None)
        if missing or tasks["duplicates"]:
            return (f"of {tasks['sent']} tasks, {len(missing)} got no answer (first: {missing[:5]}) and"
                    f" {tasks['duplicates']} were answered twice")
    if web["failed"] or result["lost"]:
        return (
            f"{web['failed']} HTTP requests failed, {result['lost']} of {expected} WebSocket deliveries"
            f" lost, {ws_disconnects} WebSocket disconnects"
        )
    return None


def check_http_rate(args, result):
    """Requests per second: --concurrency clients ask for --path in a loop for --seconds."""
    urls = [args.url] + args.extra_url
    tallies = [{"ok": 0, "failed": 0, "servers": set()} for dummy in range(args.concurrency)]
    deadline = time.monotonic() + args.seconds

    def client(i):
        url, tally = urls[i % len(urls)], tallies[i]  # one tally per thread: no shared counter
        while time.monotonic() < deadline:
            try:
                status, headers, dummy = http_get(url, args.host, args.path)
            except (OSError, http.client.HTTPException):
                status, headers = None, []
            tally["ok" if status == 200 else "failed"] += 1
            tally["servers"].update(v for k, v in headers if k.lower() == "server")

    start = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    counts = {key: sum(t[key] for t in tallies) for key in ("ok", "failed")}
    servers = set().union(*(t["servers"] for t in tallies))
    result.update(
        path=args.path,
        concurrency=args.concurrency,
        seconds=round(elapsed, 2),
        ok=counts["ok"],
        failed=counts["failed"],
        servers=sorted(servers),
        requests_per_second=round(counts["ok"] / elapsed, 1),
    )
    if counts["failed"] or not counts["ok"]:
        return f"{counts['failed']} of {counts['ok'] + counts['failed']} requests failed"
    return None
