//! State that crates built on the core keep with a registry: one value per
//! type, made on first use, alive as long as the registry.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A map from a type to its one shared value.
#[derive(Default)]
pub(crate) struct Extensions(Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>);

impl Extensions {
    /// The value of type `T`, made by `init` if there is none yet. `init`
    /// runs without the map's lock held (it may use the registry, even
    /// ask for another extension); of two threads that both made one, the
    /// first to store it wins and the other's is dropped.
    pub(crate) fn get_or_init<T: Any + Send + Sync>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        if let Some(value) = self.get::<T>() {
            return value;
        }
        let made: Arc<dyn Any + Send + Sync> = Arc::new(init());
        let stored = Arc::clone(self.lock().entry(TypeId::of::<T>()).or_insert(made));
        downcast(stored)
    }

    fn get<T: Any + Send + Sync>(&self) -> Option<Arc<T>> {
        self.lock().get(&TypeId::of::<T>()).cloned().map(downcast)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<TypeId, Arc<dyn Any + Send + Sync>>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// A value stored under `TypeId::of::<T>()`, as the `T` it is.
fn downcast<T: Any + Send + Sync>(value: Arc<dyn Any + Send + Sync>) -> Arc<T> {
    value
        .downcast::<T>()
        .unwrap_or_else(|_| unreachable!("stored under its own TypeId"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn one_value_per_type_made_once() {
        let ext = Extensions::default();
        let made = AtomicUsize::new(0);
        let a = ext.get_or_init(|| {
            made.fetch_add(1, Ordering::Relaxed);
            5u32
        });
        let b = ext.get_or_init(|| {
            made.fetch_add(1, Ordering::Relaxed);
            6u32
        });
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!((*a, made.load(Ordering::Relaxed)), (5, 1));
        assert_eq!(
            *ext.get_or_init(|| String::from("other type")),
            "other type"
        );
    }

    #[test]
    fn init_may_ask_for_another_extension() {
        let ext = Extensions::default();
        let outer = ext.get_or_init(|| *ext.get_or_init(|| 2u8) as u16 + 1);
        assert_eq!(*outer, 3);
    }

    #[test]
    fn racing_threads_all_get_the_stored_value() {
        let ext = &Extensions::default();
        let values: Vec<Arc<usize>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..8)
                .map(|i| s.spawn(move || ext.get_or_init(|| i)))
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(values.windows(2).all(|w| Arc::ptr_eq(&w[0], &w[1])));
    }
}
