//! The dashboards' counts: deliveries, runs, their times and the nodes'
//! samples, bucketed by the database (integer division of time).

/// Implements [`DashboardStore`](crate::DashboardStore) for a store
/// with a `pool` field and a `write_turn` method.
macro_rules! dashboard_store {
    ($store:ty) => {
        const _: () = {
            use hookbook_core::domain::dashboard::Buckets;
            use async_trait::async_trait;
            use sqlx::Row as _;
            use hookbook_core::domain::ids::{NodeId, ReceiverId};
            use hookbook_core::domain::time::Millis;
            use $crate::{Count, DashboardStore, RunTimes, Sample, StoreResult};

            /// `$1` from, `$2` to, `$3` bucket size, `$4` the receiver or NULL.
            const DELIVERIES: &str = "SELECT bucket, kind, CAST(count(*) AS BIGINT) AS n FROM ( \
                 SELECT (submitted - $1) / $3 AS bucket, 'accepted' AS kind FROM jobs \
                 WHERE kind = 'webhook' AND replay_of IS NULL AND submitted >= $1 AND submitted < $2 \
                   AND (CAST($4 AS TEXT) IS NULL OR receiver_id = $4) \
                 UNION ALL \
                 SELECT (time - $1) / $3 AS bucket, \
                   CASE WHEN outcome = 'rejected' THEN reason ELSE outcome END AS kind FROM deliveries \
                 WHERE time >= $1 AND time < $2 AND (CAST($4 AS TEXT) IS NULL OR receiver_id = $4) \
                 ) AS lines GROUP BY bucket, kind ORDER BY bucket, kind";
            const RUNS: &str = "SELECT (end_time - $1) / $3 AS bucket, status AS kind, \
                 CAST(count(*) AS BIGINT) AS n FROM jobs \
                 WHERE end_time >= $1 AND end_time < $2 AND (CAST($4 AS TEXT) IS NULL OR receiver_id = $4) \
                 GROUP BY bucket, status ORDER BY bucket, status";
            const TIMES: &str = "SELECT (end_time - $1) / $3 AS bucket, end_time - start_time AS duration, \
                 first_cell - submitted AS to_first_cell FROM jobs \
                 WHERE end_time >= $1 AND end_time < $2 AND start_time IS NOT NULL \
                   AND (CAST($4 AS TEXT) IS NULL OR receiver_id = $4) \
                 ORDER BY end_time DESC LIMIT $5";
            const SAMPLES: &str = "SELECT (minute - $1) / $3 AS bucket, CAST(max(queue_depth) AS BIGINT) AS queue, \
                 CAST(max(warm) AS BIGINT) AS warm FROM ( \
                 SELECT minute, max(queue_depth) AS queue_depth, sum(warm_kernels) AS warm FROM node_samples \
                 WHERE minute >= $1 AND minute < $2 GROUP BY minute) AS minutes \
                 GROUP BY bucket ORDER BY bucket";

            #[async_trait]
            impl DashboardStore for $store {
                async fn delivery_counts(
                    &self,
                    b: Buckets,
                    receiver: Option<&ReceiverId>,
                ) -> StoreResult<Vec<Count>> {
                    self.counted(DELIVERIES, b, receiver).await
                }

                async fn run_counts(
                    &self,
                    b: Buckets,
                    receiver: Option<&ReceiverId>,
                ) -> StoreResult<Vec<Count>> {
                    self.counted(RUNS, b, receiver).await
                }

                async fn run_times(
                    &self,
                    b: Buckets,
                    receiver: Option<&ReceiverId>,
                    limit: u32,
                ) -> StoreResult<Vec<RunTimes>> {
                    let rows = sqlx::query(TIMES)
                        .bind(b.from.0)
                        .bind(b.to().0)
                        .bind(b.size_ms)
                        .bind(receiver.map(|r| r.to_string()))
                        .bind(i64::from(limit))
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(|r| RunTimes {
                            bucket: r.get("bucket"),
                            duration_ms: r.get("duration"),
                            to_first_cell_ms: r.get("to_first_cell"),
                        })
                        .collect())
                }

                async fn samples(&self, b: Buckets) -> StoreResult<Vec<Sample>> {
                    let rows = sqlx::query(SAMPLES)
                        .bind(b.from.0)
                        .bind(b.to().0)
                        .bind(b.size_ms)
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(|r| Sample {
                            bucket: r.get("bucket"),
                            queue_depth: r.get("queue"),
                            warm_kernels: r.get("warm"),
                        })
                        .collect())
                }

                async fn record_sample(
                    &self,
                    node: &NodeId,
                    minute: Millis,
                    queue_depth: u64,
                    warm_kernels: i64,
                    forget_before: Millis,
                ) -> StoreResult<()> {
                    let _turn = self.write_turn().await;
                    sqlx::query(
                        "INSERT INTO node_samples (minute, node, queue_depth, warm_kernels) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (minute, node) \
                         DO UPDATE SET queue_depth = $3, warm_kernels = $4",
                    )
                    .bind(minute.0)
                    .bind(node.to_string())
                    .bind(i64::try_from(queue_depth).unwrap_or(i64::MAX))
                    .bind(warm_kernels)
                    .execute(&self.pool)
                    .await?;
                    sqlx::query("DELETE FROM node_samples WHERE minute < $1")
                        .bind(forget_before.0)
                        .execute(&self.pool)
                        .await?;
                    Ok(())
                }
            }

            impl $store {
                /// Counts by bucket and kind with one of the queries above.
                async fn counted(
                    &self,
                    sql: &str,
                    b: Buckets,
                    receiver: Option<&ReceiverId>,
                ) -> StoreResult<Vec<Count>> {
                    let rows = sqlx::query(sql)
                        .bind(b.from.0)
                        .bind(b.to().0)
                        .bind(b.size_ms)
                        .bind(receiver.map(|r| r.to_string()))
                        .fetch_all(&self.pool)
                        .await?;
                    Ok(rows
                        .iter()
                        .map(|r| Count {
                            bucket: r.get("bucket"),
                            kind: r.get("kind"),
                            count: r.get("n"),
                        })
                        .collect())
                }
            }
        };
    };
}

pub(crate) use dashboard_store;
