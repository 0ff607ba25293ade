//! Split-horizon views in the store: each view's own RRsets (`view_records`), laid over the
//! zone's default ones by whoever builds the view's snapshot.
//!
//! They are written by the same change sets, in the same transaction, as everything else
//! (`changes.rs` calls in here for a write that names a view), take the zone's serial step and
//! journal entry (a delta carrying the view's name) and a history row saying which view.
//! A view's RRset belongs to the host of its name, and goes when the host is deleted.

use ddns_core::{DomainName, RecordSet, Rtype};
use sqlx::AnyConnection;

use crate::{Store, StoreError, name_from_db, rtype_from_db, set_from_db};

/// One stored view RRset.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ViewRrset {
    /// The view (`[[view]] name`).
    pub view: String,
    /// Owner.
    pub name: DomainName,
    /// Content.
    pub set: RecordSet,
}

impl Store {
    /// Every view RRset of `zone`, in no particular order.
    pub async fn zone_view_rrsets(&self, zone: &DomainName) -> Result<Vec<ViewRrset>, StoreError> {
        let rows: Vec<(String, String, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT v.view, v.owner, v.rtype, v.ttl, v.rdata FROM view_records v \
             JOIN zones z ON z.id = v.zone_id WHERE z.name = $1",
        )
        .bind(zone.as_str())
        .fetch_all(&self.replay_pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(view, owner, rtype, ttl, rdata)| {
                let rtype = rtype_from_db(rtype)?;
                Ok(ViewRrset {
                    view,
                    name: name_from_db(&owner)?,
                    set: set_from_db(rtype, ttl, &rdata)?,
                })
            })
            .collect()
    }

    /// The view RRsets of one owner (every view), for the API's host read.
    pub async fn view_rrsets_at(&self, name: &DomainName) -> Result<Vec<ViewRrset>, StoreError> {
        let rows: Vec<(String, i64, i64, Vec<u8>)> = sqlx::query_as(
            "SELECT view, rtype, ttl, rdata FROM view_records WHERE owner = $1 \
             ORDER BY view, rtype",
        )
        .bind(name.as_str())
        .fetch_all(&self.pool)
        .await
        .map_err(StoreError::from_sqlx)?;
        rows.into_iter()
            .map(|(view, rtype, ttl, rdata)| {
                let rtype = rtype_from_db(rtype)?;
                Ok(ViewRrset {
                    view,
                    name: name.clone(),
                    set: set_from_db(rtype, ttl, &rdata)?,
                })
            })
            .collect()
    }
}

/// The view's RRset of `owner` and `rtype`, if it has one.
pub(crate) async fn current(
    conn: &mut AnyConnection,
    zone_id: i64,
    view: &str,
    owner: &DomainName,
    rtype: Rtype,
) -> Result<Option<RecordSet>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = sqlx::query_as(
        "SELECT ttl, rdata FROM view_records WHERE zone_id = $1 AND view = $2 AND owner = $3 \
         AND rtype = $4",
    )
    .bind(zone_id)
    .bind(view)
    .bind(owner.as_str())
    .bind(i64::from(rtype.0))
    .fetch_optional(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    row.map(|(ttl, rdata)| set_from_db(rtype, ttl, &rdata))
        .transpose()
}

/// Sets (or, with `new == None`, removes) one view RRset row.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write(
    conn: &mut AnyConnection,
    zone_id: i64,
    view: &str,
    owner: &DomainName,
    rtype: Rtype,
    new: Option<&RecordSet>,
    host_id: Option<i64>,
    now: &str,
) -> Result<(), StoreError> {
    match new {
        Some(new) => sqlx::query(
            "INSERT INTO view_records (zone_id, view, owner, rtype, ttl, rdata, host_id, \
             updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT(zone_id, view, owner, rtype) DO UPDATE SET ttl = excluded.ttl, \
             rdata = excluded.rdata, host_id = excluded.host_id, updated_at = excluded.updated_at",
        )
        .bind(zone_id)
        .bind(view)
        .bind(owner.as_str())
        .bind(i64::from(rtype.0))
        .bind(i64::from(new.ttl()))
        .bind(new.encode_rdatas())
        .bind(host_id)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?,
        None => sqlx::query(
            "DELETE FROM view_records WHERE zone_id = $1 AND view = $2 AND owner = $3 AND rtype = $4",
        )
        .bind(zone_id)
        .bind(view)
        .bind(owner.as_str())
        .bind(i64::from(rtype.0))
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?,
    };
    Ok(())
}

/// The types the view has at `owner` (its own CNAME must stand alone among them; against the
/// default's records a view's RRsets replace rather than join, see `Zone::overlay`).
pub(crate) async fn types_at(
    conn: &mut AnyConnection,
    zone_id: i64,
    view: &str,
    owner: &DomainName,
) -> Result<Vec<Rtype>, StoreError> {
    let types: Vec<i64> = sqlx::query_scalar(
        "SELECT rtype FROM view_records WHERE zone_id = $1 AND view = $2 AND owner = $3",
    )
    .bind(zone_id)
    .bind(view)
    .bind(owner.as_str())
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    types.into_iter().map(rtype_from_db).collect()
}

/// Removes every view RRset of a host, returning what was removed (view, type, old set).
pub(crate) async fn delete_host(
    conn: &mut AnyConnection,
    host_id: i64,
) -> Result<Vec<(String, RecordSet)>, StoreError> {
    let rows: Vec<(String, i64, i64, Vec<u8>)> = sqlx::query_as(
        "SELECT view, rtype, ttl, rdata FROM view_records WHERE host_id = $1 ORDER BY view, rtype",
    )
    .bind(host_id)
    .fetch_all(&mut *conn)
    .await
    .map_err(StoreError::from_sqlx)?;
    let mut out = Vec::with_capacity(rows.len());
    for (view, rtype, ttl, rdata) in rows {
        let rtype = rtype_from_db(rtype)?;
        out.push((view, set_from_db(rtype, ttl, &rdata)?));
    }
    sqlx::query("DELETE FROM view_records WHERE host_id = $1")
        .bind(host_id)
        .execute(&mut *conn)
        .await
        .map_err(StoreError::from_sqlx)?;
    Ok(out)
}
