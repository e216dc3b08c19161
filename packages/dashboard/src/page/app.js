// The hitstream dashboard page: plain browser JavaScript, served as is (no build step, no CDN).
// It listens to /events (Server-Sent Events, one summary a second at most) and redraws. Time is
// the server's: each summary carries `now`, and the page counts on from it with performance.now(),
// so countdowns are right even when the browser's clock is not.
"use strict"
;(() => {
  const $ = (id) => document.getElementById(id)
  const numbers = new Intl.NumberFormat("en-US")
  const clockTime = new Intl.DateTimeFormat(undefined, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit"
  })

  let clock = { server: 0, at: 0 }
  const serverNow = () => clock.server + (performance.now() - clock.at)
  let summary = undefined
  const points = new Map()

  const duration = (millis) => {
    const s = Math.max(0, Math.ceil(millis / 1000))
    if (s < 60) return `${s} s`
    const m = Math.floor(s / 60)
    if (m < 60) return `${m} min ${s % 60} s`
    return `${Math.floor(m / 60)} h ${m % 60} min`
  }
  const el = (tag, className, text) => {
    const node = document.createElement(tag)
    if (className) node.className = className
    if (text !== undefined) node.textContent = text
    return node
  }

  // --- the link to the server ---
  const link = (state, text) => {
    const node = $("link")
    node.dataset.state = state
    node.textContent = text
  }
  let source = undefined
  let closedAt = undefined
  const connect = () => {
    source = new EventSource("/events")
    source.addEventListener("open", () => link("live", "live"))
    source.addEventListener("error", () => {
      if (source.readyState === EventSource.CLOSED) {
        closedAt = performance.now()
        link("reconnecting", "disconnected, retrying…")
      } else link("reconnecting", "reconnecting…")
    })
    for (const kind of ["snapshot", "tick"]) {
      source.addEventListener(kind, (event) => apply(JSON.parse(event.data)))
    }
  }

  // --- totals ---
  const renderTotals = () => {
    const t = summary.totals
    $("total-hits").textContent = numbers.format(t.hits)
    $("total-duplicates").textContent = numbers.format(t.duplicates)
    $("total-malformed").textContent = numbers.format(t.malformed)
    $("total-attempts").textContent = numbers.format(t.attempts)
    $("min-delay").textContent = String(Math.round(summary.minReconnectDelayMillis / 100) / 10)
    $("top-minutes").textContent = String(Math.round(summary.topSeconds / 60))
    $("top-total").textContent = numbers.format(summary.top.total)
    $("top-total").dataset.count = String(summary.top.total)
  }

  // --- slots ---
  const slotNodes = new Map()
  const slotNode = (slot) => {
    let node = slotNodes.get(slot)
    if (node === undefined) {
      node = el("article", "slot")
      node.dataset.slot = String(slot)
      const title = el("div", "title")
      title.append(el("span", "name", `slot ${slot}`), el("span", "state"))
      node.append(title, el("div", "countdown"), el("div", "detail"), el("div", "fix"))
      $("slots").append(node)
      slotNodes.set(slot, node)
    }
    return node
  }
  const stateWords = {
    idle: "idle",
    connecting: "connecting",
    streaming: "streaming",
    waiting: "waiting",
    failed: "failed"
  }
  const renderSlots = () => {
    const now = serverNow()
    for (const s of summary.slots) {
      const node = slotNode(s.slot)
      node.dataset.state = s.state
      node.querySelector(".state").textContent = stateWords[s.state] ?? s.state
      const countdown = node.querySelector(".countdown")
      const detail = node.querySelector(".detail")
      const fix = node.querySelector(".fix")
      const lag = s.lagSeconds === null ? "" : `, lag ${s.lagSeconds} s`
      const counts = `${numbers.format(s.hits)} hits, ${s.attempts} attempt${s.attempts === 1 ? "" : "s"}${lag}`
      fix.textContent = ""
      switch (s.state) {
        case "streaming":
          countdown.textContent = ""
          detail.textContent = `since ${clockTime.format(s.since)} (${duration(now - s.since)}) · ${counts}`
          break
        case "connecting":
          countdown.textContent = ""
          detail.textContent = `attempt ${s.attempt}, for ${duration(now - s.since)} · ${counts}`
          break
        case "waiting":
          countdown.textContent = `next attempt in ${duration(s.until - now)}`
          detail.textContent =
            `until ${clockTime.format(s.until)}: ${s.reason}` +
            (s.consecutiveFailures > 1 ? ` (${s.consecutiveFailures} failures in a row)` : "") +
            ` · ${counts}`
          break
        case "failed":
          countdown.textContent = ""
          detail.textContent = counts
          fix.textContent = s.message
          break
        default:
          countdown.textContent = ""
          detail.textContent = counts
      }
    }
  }

  // --- timeline ---
  const pct = (t, start, horizon) => `${Math.min(100, Math.max(0, ((t - start) / horizon) * 100))}%`
  const renderTimeline = () => {
    const now = serverNow()
    // The last hour; while the dashboard is younger than that, its lifetime (at least two
    // minutes), so that a short run's drops and gaps are wide enough to see.
    const horizon = Math.min(summary.horizonMillis, Math.max(120_000, now - summary.startedAt))
    const start = now - horizon
    const rows = summary.timeline.map((row) => {
      const node = el("div", "row")
      node.dataset.slot = String(row.slot)
      const track = el("div", "track")
      for (const span of row.spans) {
        const to = span.to === null ? now : span.to
        const bar = el("div", `span ${span.phase}`)
        bar.style.left = pct(span.from, start, horizon)
        bar.style.width = pct(start + (to - Math.max(span.from, start)), start, horizon)
        bar.title = `${span.phase} ${clockTime.format(span.from)}–${span.to === null ? "now" : clockTime.format(span.to)}${span.reason ? `: ${span.reason}` : ""}`
        track.append(bar)
      }
      for (const gap of row.gaps) {
        const to = gap.to === null || gap.to === undefined ? now : gap.to
        if (to < start) continue
        const from = Math.max(gap.from, start)
        const mark = el("div", gap.short ? "gap short" : "gap")
        mark.style.left = pct(from, start, horizon)
        mark.style.width = pct(start + (to - from), start, horizon)
        mark.title = `${gap.short ? "SHORTER THAN THE MINIMUM: " : ""}gap of ${duration(to - gap.from)} between attempts`
        track.append(mark)
        const label = el("span", gap.short ? "gap-label short" : "gap-label", duration(to - gap.from))
        label.style.left = pct(from, start, horizon)
        track.append(label)
      }
      node.append(el("span", "label", `slot ${row.slot}`), track)
      return node
    })
    const axis = el("div", "axis")
    for (const fraction of [1, 0.75, 0.5, 0.25, 0]) {
      const ago = horizon * fraction
      const label =
        fraction === 0
          ? "now"
          : ago >= 120_000
            ? `−${Math.round(ago / 60_000)} min`
            : `−${Math.round(ago / 1000)} s`
      const tick = el("span", undefined, label)
      tick.style.left = `${(1 - fraction) * 100}%`
      axis.append(tick)
    }
    $("timeline-title").textContent =
      horizon >= summary.horizonMillis
        ? "Connections, last hour"
        : horizon < 120_000
          ? `Connections, last ${duration(horizon)}`
          : `Connections, last ${Math.round(horizon / 60_000)} min`
    $("timeline").replaceChildren(...rows, axis)
  }

  // --- charts ---
  let charts = undefined
  const chartOptions = (label, color, width) => ({
    width,
    height: 200,
    legend: { show: false },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [
      { stroke: "#8b98a9", grid: { stroke: "#263140" }, ticks: { stroke: "#263140" } },
      { stroke: "#8b98a9", grid: { stroke: "#263140" }, ticks: { stroke: "#263140" }, size: 56 }
    ],
    series: [
      {},
      { label, stroke: color, width: 1.5, fill: `${color}22`, spanGaps: false, points: { show: false } }
    ]
  })
  const chartWidth = (id) => Math.max(200, $(id).clientWidth)
  const renderCharts = () => {
    if (typeof uPlot === "undefined") return
    const seconds = [...points.keys()].sort((a, b) => a - b)
    const hits = seconds.map((s) => points.get(s).hits)
    const lag = seconds.map((s) => points.get(s).lag)
    if (charts === undefined) {
      charts = {
        hits: new uPlot(
          chartOptions("hits/s", "#34d399", chartWidth("chart-hits")),
          [seconds, hits],
          $("chart-hits")
        ),
        lag: new uPlot(
          chartOptions("lag, s", "#60a5fa", chartWidth("chart-lag")),
          [seconds, lag],
          $("chart-lag")
        )
      }
      window.addEventListener("resize", () => {
        charts.hits.setSize({ width: chartWidth("chart-hits"), height: 200 })
        charts.lag.setSize({ width: chartWidth("chart-lag"), height: 200 })
      })
    } else {
      charts.hits.setData([seconds, hits])
      charts.lag.setData([seconds, lag])
    }
    $("chart-hits").dataset.points = String(seconds.length)
    $("chart-lag").dataset.points = String(lag.filter((v) => v !== null).length)
  }

  // --- top tables ---
  const renderTop = (id, rows) => {
    const body = $(id).querySelector("tbody")
    if (rows.length === 0) {
      const tr = el("tr")
      const td = el("td", "empty", "no hits in the window")
      td.colSpan = 2
      tr.append(td)
      body.replaceChildren(tr)
      return
    }
    const max = rows[0].count
    body.replaceChildren(
      ...rows.map((row) => {
        const tr = el("tr")
        tr.dataset.key = row.key
        tr.dataset.count = String(row.count)
        const name = el("td")
        const bar = el("span", "bar")
        bar.style.width = `${(row.count / max) * 100}%`
        name.append(bar, el("span", "name", row.key))
        name.title = row.key
        tr.append(name, el("td", undefined, numbers.format(row.count)))
        return tr
      })
    )
  }

  // --- malformed ---
  const renderMalformed = () => {
    const list = $("malformed")
    if (summary.malformed.length === 0) {
      list.replaceChildren(el("li", "empty", "none so far"))
      return
    }
    list.replaceChildren(
      ...summary.malformed.toReversed().map((m) => {
        const item = el(
          "li",
          undefined,
          `${clockTime.format(m.at)}${m.slot === null ? "" : ` slot ${m.slot}`} (${m.reason}): `
        )
        item.append(el("code", undefined, m.preview))
        return item
      })
    )
  }

  let snapshots = 0
  const apply = (next) => {
    if (next.kind === "snapshot") $("link").dataset.snapshots = String(++snapshots)
    clock = { server: next.now, at: performance.now() }
    if (next.kind === "snapshot") points.clear()
    for (const p of next.points) points.set(p.second, p)
    const oldest = Math.floor(next.now / 1000) - next.seriesSeconds + 1
    for (const second of points.keys()) if (second < oldest) points.delete(second)
    summary = next
    renderTotals()
    renderSlots()
    renderTimeline()
    renderCharts()
    renderTop("top-pages", next.top.pages)
    renderTop("top-countries", next.top.countries)
    renderTop("top-suites", next.top.suites)
    renderMalformed()
  }

  // Countdowns run between summaries; a closed EventSource (the server refused or went away for
  // good) is reopened after a few seconds.
  setInterval(() => {
    if (summary !== undefined) renderSlots()
    if (
      source !== undefined &&
      source.readyState === EventSource.CLOSED &&
      performance.now() - closedAt > 3000
    ) {
      source.close()
      connect()
    }
  }, 250)
  connect()
})()
