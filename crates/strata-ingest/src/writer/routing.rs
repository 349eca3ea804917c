//! Routing: which (source, symbol, kind) stream an event belongs to, the partition stem its
//! naming gives it and the time range that stem covers, cached per stream.

use super::*;

impl Writer {
    /// Where an event goes: its partition stem and the time range that stem covers. Reads the
    /// route cache only (`route` is the event's route as [`Streams::find`] finds it); the write
    /// pass applies changes in event order.
    pub(super) fn place(
        &self,
        streams: &Streams,
        event: &Event,
        route: Option<usize>,
        hint: Option<AssetClass>,
    ) -> std::result::Result<Placement, String> {
        let inner = &*self.inner;
        let ts = event.event_time.as_nanos();
        if let Some(idx) = route {
            let r = &streams.routes[idx];
            if r.range.contains(&ts) {
                return Ok(Placement {
                    stem: Arc::clone(&r.stem),
                    range: r.range.clone(),
                    asset_class: r.asset_class,
                    route,
                });
            }
        }
        let asset_class = inner
            .symbols
            .resolve(&event.symbol)
            .map(|s| s.asset_class)
            .or(hint)
            .unwrap_or(AssetClass::Other);
        let key = inner
            .naming
            .key_for_event(event, Some(asset_class), inner.naming.granularity());
        let stem = inner
            .naming
            .render(&key)
            .map_err(|e| format!("cannot place event: {e}"))?;
        if stem.len() > MAX_STEM_BYTES {
            return Err(format!(
                "cannot place event: its partition path would be {} bytes (symbol {} bytes, source {} bytes), over the {MAX_STEM_BYTES} bytes strata keeps paths under so that no file system refuses them",
                stem.len(),
                event.symbol.len(),
                event.source.len()
            ));
        }
        let range = inner
            .naming
            .time_range(&key)
            .map(|r| r.start.as_nanos()..r.end.as_nanos())
            .unwrap_or(i64::MIN..i64::MAX);
        Ok(Placement {
            stem: Arc::from(stem),
            range,
            asset_class,
            route,
        })
    }

    /// Places every event of a batch (see [`Writer::place`]). Consecutive events of one stream
    /// (the usual case) share one route lookup.
    pub(super) fn place_batch(
        &self,
        streams: &Streams,
        batch: &Encoded<'_>,
        hint: Option<AssetClass>,
    ) -> Vec<std::result::Result<Placement, String>> {
        let mut placed = Vec::with_capacity(batch.len());
        let mut previous: Option<(&Event, Option<usize>)> = None;
        for i in 0..batch.len() {
            let event = batch.event(i);
            let route = match previous {
                Some((p, route)) if same_stream(p, event) => route,
                _ => streams.find(event),
            };
            previous = Some((event, route));
            placed.push(self.place(streams, event, route, hint));
        }
        placed
    }

    /// The route of an event's stream, pointed at `placement`. A stream moving to another
    /// partition leaves its previous segment to be sealed (partition boundary).
    pub(super) fn enter_route(
        &self,
        st: &mut State,
        event: &Event,
        placement: &Placement,
        staged: bool,
        to_seal: &mut Vec<(Segment, SealReason)>,
    ) -> Result<usize> {
        // A route found when placing still holds (routes are only ever added); one created
        // earlier in this batch is looked up.
        let streams = st.streams_mut(staged);
        let existing = placement.route.or_else(|| streams.find(event));
        let Some(idx) = existing else {
            return Ok(streams.add(
                event,
                Route {
                    checks: StreamChecks::default(),
                    range: placement.range.clone(),
                    latest: placement.range.start,
                    stem: placement.stem.clone(),
                    asset_class: placement.asset_class,
                },
            ));
        };
        let route = &mut streams.routes[idx];
        if route.stem != placement.stem {
            let old = std::mem::replace(&mut route.stem, Arc::clone(&placement.stem));
            route.range = placement.range.clone();
            // Only seal when the stream moved past every partition it has entered: a late
            // event for an older partition, or one of another partition of the same period (a
            // venue, say), opens a segment there without closing the current one — so input
            // that hops between partitions does not cut a file at every hop.
            let forward = placement.range.start > route.latest;
            route.latest = route.latest.max(placement.range.start);
            if forward {
                if let Some(seg) =
                    st.retire(&old, staged, SealReason::PartitionBoundary, self.syncs())?
                {
                    to_seal.push((seg, SealReason::PartitionBoundary));
                }
            }
        }
        Ok(idx)
    }
}

impl Streams {
    /// The route of an event's stream, if there is one (route numbers never change).
    pub(super) fn find(&self, event: &Event) -> Option<usize> {
        self.index
            .get(event.source.as_str())
            .and_then(|m| m.get(event.symbol.as_str()))
            .and_then(|slots| slots[kind_index(event.kind())])
    }

    /// Adds the route of `event`'s stream; returns its number.
    pub(super) fn add(&mut self, event: &Event, route: Route) -> usize {
        self.routes.push(route);
        let idx = self.routes.len() - 1;
        self.index
            .entry(event.source.clone())
            .or_default()
            .entry(event.symbol.clone())
            .or_insert([None; KINDS])[kind_index(event.kind())] = Some(idx);
        idx
    }
}

pub(super) fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL.iter().position(|&k| k == kind).unwrap_or(0)
}

/// True when both events belong to one (source, symbol, kind) stream.
pub(super) fn same_stream(a: &Event, b: &Event) -> bool {
    a.kind() == b.kind() && a.symbol == b.symbol && a.source == b.source
}
