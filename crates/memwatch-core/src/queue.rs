//! A fixed-capacity queue that never allocates after construction.
//!
//! Why: GC samples are pushed from inside V8's GC callback, where allocating
//! or blocking is off limits, and drained later on the JS thread. If JS does
//! not drain for a long time the oldest samples are dropped (and counted), so
//! memory stays bounded whatever the GC rate.

pub struct BoundedQueue<T: Copy + Default> {
    slots: Box<[T]>,
    head: usize,
    len: usize,
    dropped: u64,
}

impl<T: Copy + Default> BoundedQueue<T> {
    /// `capacity` must be at least 1; 0 is raised to 1.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            slots: vec![T::default(); capacity.max(1)].into_boxed_slice(),
            head: 0,
            len: 0,
            dropped: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Samples overwritten because the queue was full, since creation.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Appends; when full, overwrites the oldest entry.
    pub fn push(&mut self, item: T) {
        let cap = self.slots.len();
        let tail = (self.head + self.len) % cap;
        self.slots[tail] = item;
        if self.len == cap {
            self.head = (self.head + 1) % cap;
            self.dropped += 1;
        } else {
            self.len += 1;
        }
    }

    pub fn pop(&mut self) -> Option<T> {
        if self.len == 0 {
            return None;
        }
        let item = self.slots[self.head];
        self.head = (self.head + 1) % self.slots.len();
        self.len -= 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_order() {
        let mut q = BoundedQueue::with_capacity(3);
        q.push(1);
        q.push(2);
        assert_eq!(q.pop(), Some(1));
        q.push(3);
        q.push(4);
        assert_eq!(
            (q.pop(), q.pop(), q.pop(), q.pop()),
            (Some(2), Some(3), Some(4), None)
        );
        assert!(q.is_empty());
        assert_eq!(q.dropped(), 0);
    }

    #[test]
    fn full_queue_drops_oldest_and_counts() {
        let mut q = BoundedQueue::with_capacity(2);
        for i in 0..5 {
            q.push(i);
        }
        assert_eq!(q.len(), 2);
        assert_eq!(q.dropped(), 3);
        assert_eq!((q.pop(), q.pop()), (Some(3), Some(4)));
    }

    #[test]
    fn zero_capacity_is_one() {
        let mut q = BoundedQueue::with_capacity(0);
        q.push(7u8);
        q.push(8u8);
        assert_eq!((q.pop(), q.pop(), q.dropped()), (Some(8), None, 1));
    }
}
