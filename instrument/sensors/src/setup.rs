//! [`Monitoring`]: Faust's `setup_monitoring` in one builder: the monitor,
//! the chosen sensors and the delegate, over one registry and one clock.

use crate::clock::Clock;
use crate::delegate::SensorDelegate;
use crate::health::{HealthMonitor, HealthMonitorBuilder};
use crate::logging::LoggingSensor;
use crate::monitor::{Monitor, MonitorBuilder};
use hotmetrics_core::{Error, Registry};
use std::fmt;
use std::sync::Arc;

type HealthSetup = Box<dyn FnOnce(HealthMonitorBuilder) -> HealthMonitorBuilder>;

/// What [`Monitoring::builder`] sets up.
#[must_use = "a builder does nothing until `build`"]
pub struct MonitoringBuilder {
    registry: Registry,
    monitor: MonitorBuilder,
    prometheus: bool,
    clock: Clock,
    logging: Option<LoggingSensor>,
    health: Option<HealthSetup>,
    #[cfg(feature = "statsd")]
    statsd: Option<usize>,
}

impl fmt::Debug for MonitoringBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MonitoringBuilder")
            .field("monitor", &self.monitor)
            .field("prometheus", &self.prometheus)
            .field("logging", &self.logging)
            .field("health", &self.health.is_some())
            .finish_non_exhaustive()
    }
}

impl MonitoringBuilder {
    /// The monitor's settings (namespace, history sizes, key limit, rate
    /// window); its clock is replaced by [`clock`](Self::clock)'s.
    pub fn monitor(mut self, monitor: MonitorBuilder) -> Self {
        self.monitor = monitor;
        self
    }

    /// Whether the monitor's families go into the registry (Faust's
    /// `PrometheusMonitor`; default on). Off, they stay in a registry of
    /// the monitor's own, read through its snapshot.
    pub fn prometheus(mut self, on: bool) -> Self {
        self.prometheus = on;
        self
    }

    /// The clock every sensor shares (default monotonic).
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }

    /// Adds a [`LoggingSensor`] (its clock becomes the shared one).
    pub fn logging(mut self, sensor: LoggingSensor) -> Self {
        self.logging = Some(sensor);
        self
    }

    /// Adds a [`StatsdMonitor`](crate::StatsdMonitor) with at most
    /// `max_keys` keys of each kind; start its export with
    /// [`Monitoring::statsd`]`().export_to(..)`.
    #[cfg(feature = "statsd")]
    #[cfg_attr(docsrs, doc(cfg(feature = "statsd")))]
    pub fn statsd(mut self, max_keys: usize) -> Self {
        self.statsd = Some(max_keys);
        self
    }

    /// Adds a [`HealthMonitor`] over the monitor, set up by `setup`.
    pub fn health(
        mut self,
        setup: impl FnOnce(HealthMonitorBuilder) -> HealthMonitorBuilder + 'static,
    ) -> Self {
        self.health = Some(Box::new(setup));
        self
    }

    /// Creates the monitor (its families registered), the sensors and the
    /// delegate holding them, the monitor first.
    pub fn build(self) -> Result<Monitoring, Error> {
        let builder = self.monitor.clock(self.clock.clone());
        let monitor = if self.prometheus {
            builder.build(&self.registry)?
        } else {
            builder.build(&Registry::new())?
        };
        let delegate = Arc::new(SensorDelegate::new());
        delegate.add(Arc::new(monitor.clone()));
        #[cfg(feature = "statsd")]
        let statsd = self.statsd.map(|max_keys| {
            let statsd = crate::StatsdMonitor::with_clock(max_keys, self.clock.clone());
            delegate.add(Arc::new(statsd.clone()));
            statsd
        });
        if let Some(logging) = self.logging {
            delegate.add(Arc::new(logging.clock(self.clock)));
        }
        let health = self
            .health
            .map(|setup| Arc::new(setup(HealthMonitor::builder(&monitor)).build()));
        Ok(Monitoring {
            monitor,
            delegate,
            health,
            #[cfg(feature = "statsd")]
            statsd,
        })
    }
}

/// The monitor, the delegate to send events to, and the health monitor,
/// from [`Monitoring::builder`].
///
/// ```
/// use hotmetrics_sensors::{LoggingSensor, Monitoring, Sensor, TopicPartition};
///
/// let registry = hotmetrics_core::Registry::new();
/// let monitoring = Monitoring::builder(&registry)
///     .logging(LoggingSensor::new(tracing::Level::DEBUG).one_in(1000))
///     .health(|h| h.max_lag(10_000))
///     .build()
///     .unwrap();
/// let sensors = monitoring.sensors(); // hand this to the stream processor
/// sensors.on_message_in(TopicPartition::new("orders", 3), 17);
/// assert_eq!(monitoring.monitor().snapshot().messages_received_total, 1);
/// assert!(monitoring.health().unwrap().is_healthy());
/// ```
#[derive(Debug, Clone)]
pub struct Monitoring {
    monitor: Monitor,
    delegate: Arc<SensorDelegate>,
    health: Option<Arc<HealthMonitor>>,
    #[cfg(feature = "statsd")]
    statsd: Option<crate::StatsdMonitor>,
}

impl Monitoring {
    /// Monitoring over `registry`.
    pub fn builder(registry: &Registry) -> MonitoringBuilder {
        MonitoringBuilder {
            registry: registry.clone(),
            monitor: MonitorBuilder::default(),
            prometheus: true,
            clock: Clock::monotonic(),
            logging: None,
            health: None,
            #[cfg(feature = "statsd")]
            statsd: None,
        }
    }

    /// The monitor (Faust's `app.monitor`).
    pub fn monitor(&self) -> &Monitor {
        &self.monitor
    }

    /// The delegate every event goes to (Faust's `app.sensors`); add your
    /// own sensors to it.
    pub fn sensors(&self) -> &Arc<SensorDelegate> {
        &self.delegate
    }

    /// The StatsD monitor, if one was set up.
    #[cfg(feature = "statsd")]
    #[cfg_attr(docsrs, doc(cfg(feature = "statsd")))]
    pub fn statsd(&self) -> Option<&crate::StatsdMonitor> {
        self.statsd.as_ref()
    }

    /// The health monitor, if one was set up.
    pub fn health(&self) -> Option<&Arc<HealthMonitor>> {
        self.health.as_ref()
    }

    /// `server` with `/health` answered by the health monitor (if any)
    /// and `/stats` by the monitor's snapshot.
    #[cfg(feature = "http")]
    #[cfg_attr(docsrs, doc(cfg(feature = "http")))]
    pub fn serve(&self, server: hotmetrics_http::ServerBuilder) -> hotmetrics_http::ServerBuilder {
        let server = server.stats(Arc::new(self.monitor.clone()));
        match &self.health {
            Some(health) => {
                server.health(Arc::clone(health) as Arc<dyn hotmetrics_http::HealthCheck>)
            }
            None => server,
        }
    }
}
