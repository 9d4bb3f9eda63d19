//! The messages a consumer holds, FIFO per order: messages of one order (the event's subject)
//! are handed out one at a time in the order they arrived, the next only once the one before is
//! finished; different orders go side by side. A message can wait until a time (a retry's
//! backoff) and holds back its order meanwhile. Both transports dispatch through this.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet, VecDeque};

/// Held messages, per order.
pub struct PerOrder<M> {
    /// Waiting messages per order, in arrival order; the head of a busy order is in hand.
    waiting: HashMap<String, VecDeque<Held<M>>>,
    /// Orders whose head may be handed out now.
    ready: VecDeque<String>,
    /// Orders whose head waits until a time, by that time.
    timers: BinaryHeap<Reverse<(i64, String)>>,
    /// Orders whose head is in hand.
    busy: HashSet<String>,
}

struct Held<M> {
    message: M,
    visible_at: i64,
}

impl<M> Default for PerOrder<M> {
    fn default() -> Self {
        Self { waiting: HashMap::new(), ready: VecDeque::new(), timers: BinaryHeap::new(), busy: HashSet::new() }
    }
}

impl<M> PerOrder<M> {
    /// Holds `message` of order `subject`, not to be handed out before `visible_at` (ms).
    pub fn push(&mut self, subject: &str, message: M, visible_at: i64, now: i64) {
        let queue = self.waiting.entry(subject.to_owned()).or_default();
        let was_idle = queue.is_empty();
        queue.push_back(Held { message, visible_at });
        if was_idle {
            self.schedule(subject.to_owned(), visible_at, now);
        }
    }

    fn schedule(&mut self, subject: String, visible_at: i64, now: i64) {
        if visible_at <= now {
            self.ready.push_back(subject);
        } else {
            self.timers.push(Reverse((visible_at, subject)));
        }
    }

    /// The next message that may be handled now, with its order: the head of an order none of
    /// whose messages is in hand. The order is in hand until [`finish`](Self::finish).
    pub fn take(&mut self) -> Option<(String, &M)> {
        let subject = self.ready.pop_front()?;
        self.busy.insert(subject.clone());
        let head = self.waiting.get(&subject).and_then(|q| q.front())?;
        Some((subject, &head.message))
    }

    /// The order's message in hand, to update before it is tried again.
    pub fn head_mut(&mut self, subject: &str) -> Option<&mut M> {
        self.waiting.get_mut(subject).and_then(|q| q.front_mut()).map(|h| &mut h.message)
    }

    /// The order's message in hand is finished: handled (`retry_at` `None`: the next message of
    /// the order may go), or to be tried again at `retry_at` (it stays the head).
    pub fn finish(&mut self, subject: &str, retry_at: Option<i64>, now: i64) {
        self.busy.remove(subject);
        let Some(queue) = self.waiting.get_mut(subject) else { return };
        match retry_at {
            Some(at) => {
                if let Some(head) = queue.front_mut() {
                    head.visible_at = at;
                }
                self.schedule(subject.to_owned(), at, now);
            }
            None => {
                queue.pop_front();
                match queue.front() {
                    Some(next) => {
                        let visible_at = next.visible_at;
                        self.schedule(subject.to_owned(), visible_at, now);
                    }
                    None => {
                        self.waiting.remove(subject);
                    }
                }
            }
        }
    }

    /// Makes the orders whose wait is over ready.
    pub fn release_due(&mut self, now: i64) {
        while let Some(Reverse((at, _))) = self.timers.peek() {
            if *at > now {
                break;
            }
            if let Some(Reverse((_, subject))) = self.timers.pop() {
                self.ready.push_back(subject);
            }
        }
    }

    /// When the next wait ends.
    pub fn next_timer(&self) -> Option<i64> {
        self.timers.peek().map(|Reverse((at, _))| *at)
    }

    /// How many messages are held, in hand or waiting.
    pub fn len(&self) -> usize {
        self.waiting.values().map(VecDeque::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.waiting.is_empty()
    }

    /// Every message held.
    pub fn iter(&self) -> impl Iterator<Item = &M> {
        self.waiting.values().flatten().map(|h| &h.message)
    }

    /// Gives back every message not in hand (to hand them to someone else).
    pub fn drain_waiting(&mut self) -> Vec<M> {
        let mut out = Vec::new();
        for (subject, queue) in &mut self.waiting {
            let keep = usize::from(self.busy.contains(subject));
            out.extend(queue.drain(keep..).map(|h| h.message));
        }
        self.waiting.retain(|_, q| !q.is_empty());
        self.ready.clear();
        self.timers.clear();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(q: &mut PerOrder<u32>) -> Option<(String, u32)> {
        q.take().map(|(s, m)| (s, *m))
    }

    /// Messages pushed now, each visible at once.
    fn holding(messages: &[(&str, u32)]) -> PerOrder<u32> {
        let mut q = PerOrder::default();
        for (subject, m) in messages {
            q.push(subject, *m, 0, 0);
        }
        q
    }

    #[test]
    fn one_message_of_an_order_at_a_time_in_order_and_orders_side_by_side() {
        let mut q = holding(&[("a", 1), ("a", 2), ("b", 3)]);
        assert_eq!(taken(&mut q), Some(("a".into(), 1)));
        assert_eq!(taken(&mut q), Some(("b".into(), 3)), "another order goes while a is in hand");
        assert_eq!(taken(&mut q), None, "a's second waits for its first");
        q.finish("a", None, 0);
        assert_eq!(taken(&mut q), Some(("a".into(), 2)));
        assert_eq!(q.len(), 2, "a's second and b's first are still held");
    }

    #[test]
    fn a_retry_keeps_its_place_and_holds_back_its_order_until_it_is_due() {
        let mut q = holding(&[("a", 1), ("a", 2)]);
        assert_eq!(taken(&mut q), Some(("a".into(), 1)));
        q.finish("a", Some(100), 10);
        assert_eq!(taken(&mut q), None);
        assert_eq!(q.next_timer(), Some(100));
        q.release_due(99);
        assert_eq!(taken(&mut q), None);
        q.release_due(100);
        assert_eq!(taken(&mut q), Some(("a".into(), 1)), "the retry, before the message after it");
    }

    #[test]
    fn draining_gives_back_what_is_not_in_hand() {
        let mut q = holding(&[("a", 1), ("a", 2), ("b", 3)]);
        let _ = taken(&mut q);
        let mut back = q.drain_waiting();
        back.sort();
        assert_eq!(back, [2, 3]);
        assert_eq!(q.iter().copied().collect::<Vec<_>>(), [1], "the message in hand stays");
    }
}
