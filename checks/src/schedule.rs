//! The order in which a run's checks start. Checks that measure CPU time or
//! throughput (serial key [`EXCLUSIVE_KEY`]) run alone, and go first, when nothing
//! else has started: a worker never sits blocked behind one while others wait behind
//! it. Checks sharing another serial key take turns, and a worker whose next check's
//! key is taken starts a later check instead of waiting. Everything else starts in
//! the order given (the catalog's).

use std::collections::HashSet;
use std::sync::{Condvar, Mutex};

use crate::check::EXCLUSIVE_KEY;

pub struct Queue {
    keys: Vec<Option<&'static str>>,
    state: Mutex<State>,
    turn: Condvar,
}

#[derive(Default)]
struct State {
    pending: Vec<usize>,
    running: usize,
    exclusive: bool,
    taken: HashSet<&'static str>,
}

impl Queue {
    /// A queue over items `0..keys.len()`, item `i` having serial key `keys[i]`.
    pub fn new(keys: Vec<Option<&'static str>>) -> Queue {
        let (mut pending, rest): (Vec<usize>, Vec<usize>) =
            (0..keys.len()).partition(|&i| keys[i] == Some(EXCLUSIVE_KEY));
        pending.extend(rest);
        Queue {
            keys,
            state: Mutex::new(State {
                pending,
                ..State::default()
            }),
            turn: Condvar::new(),
        }
    }

    /// The next item that may start now, waiting while none may; `None` once every
    /// item has been handed out.
    pub fn next(&self) -> Option<usize> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if st.pending.is_empty() {
                return None;
            }
            if !st.exclusive {
                let pick = st.pending.iter().position(|&i| match self.keys[i] {
                    Some(EXCLUSIVE_KEY) => st.running == 0,
                    Some(k) => !st.taken.contains(k),
                    None => true,
                });
                // An exclusive check waiting at the head holds back the rest, so that
                // the running ones drain and it gets the machine to itself.
                let head_exclusive = self.keys[st.pending[0]] == Some(EXCLUSIVE_KEY);
                if let Some(p) = pick.filter(|&p| p == 0 || !head_exclusive) {
                    let i = st.pending.remove(p);
                    match self.keys[i] {
                        Some(EXCLUSIVE_KEY) => st.exclusive = true,
                        Some(k) => {
                            st.taken.insert(k);
                        }
                        None => {}
                    }
                    st.running += 1;
                    return Some(i);
                }
            }
            st = self.turn.wait(st).unwrap_or_else(|p| p.into_inner());
        }
    }

    /// Item `i`, handed out by [`Queue::next`], has finished.
    pub fn done(&self, i: usize) {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        match self.keys[i] {
            Some(EXCLUSIVE_KEY) => st.exclusive = false,
            Some(k) => {
                st.taken.remove(k);
            }
            None => {}
        }
        st.running -= 1;
        drop(st);
        self.turn.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    const X: Option<&str> = Some(EXCLUSIVE_KEY);

    #[test]
    fn exclusive_items_go_first_then_the_given_order() {
        let q = Queue::new(vec![None, X, Some("io"), None, X]);
        let mut order = Vec::new();
        while let Some(i) = q.next() {
            order.push(i);
            q.done(i);
        }
        assert_eq!(order, vec![1, 4, 0, 2, 3]);
    }

    #[test]
    fn a_taken_key_is_passed_over_not_waited_for() {
        let q = Queue::new(vec![Some("io"), Some("io"), None]);
        assert_eq!(q.next(), Some(0));
        // Item 1 shares "io" with the running item 0: item 2 starts instead.
        assert_eq!(q.next(), Some(2));
        q.done(0);
        assert_eq!(q.next(), Some(1));
        q.done(1);
        q.done(2);
        assert_eq!(q.next(), None);
    }

    /// Four workers over a mixed queue: an exclusive item never overlaps another item,
    /// two items of one key never overlap, and every item runs once.
    #[test]
    fn workers_keep_every_rule() {
        let keys = vec![
            None,
            X,
            Some("io"),
            Some("io"),
            None,
            X,
            None,
            Some("net"),
            None,
            Some("io"),
        ];
        let q = Queue::new(keys.clone());
        let running = AtomicUsize::new(0);
        let exclusive_running = AtomicUsize::new(0);
        let io_running = AtomicUsize::new(0);
        let ran = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    while let Some(i) = q.next() {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        if keys[i] == X {
                            assert_eq!(now, 1, "exclusive item {i} ran beside another");
                            exclusive_running.fetch_add(1, Ordering::SeqCst);
                        } else {
                            assert_eq!(exclusive_running.load(Ordering::SeqCst), 0);
                        }
                        if keys[i] == Some("io") {
                            assert_eq!(io_running.fetch_add(1, Ordering::SeqCst), 0, "two io items at once");
                        }
                        std::thread::sleep(std::time::Duration::from_millis(5));
                        if keys[i] == Some("io") {
                            io_running.fetch_sub(1, Ordering::SeqCst);
                        }
                        if keys[i] == X {
                            exclusive_running.fetch_sub(1, Ordering::SeqCst);
                        }
                        running.fetch_sub(1, Ordering::SeqCst);
                        ran.lock().unwrap().push(i);
                        q.done(i);
                    }
                });
            }
        });
        let mut ran = ran.into_inner().unwrap();
        ran.sort();
        assert_eq!(ran, (0..keys.len()).collect::<Vec<_>>());
    }
}
