//! Who is teaching right now, from the escrow's events: a tutor with a started session is
//! busy, and back in the pool when it ends. The shared reorg-safe follower
//! (`minuto_chain::follower`) reads the events; [`LiveSessions`] is its sink.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use alloy_primitives::{Address, B256, U256};
use minuto_chain::alloy::primitives::LogData;
use minuto_chain::alloy::providers::{DynProvider, Provider};
use minuto_chain::alloy::sol_types::{SolEvent, SolEventInterface};
use minuto_chain::alloy::transports::TransportError;
use minuto_chain::bindings::ISessionEscrow::{self, ISessionEscrowEvents};
use minuto_chain::follower::{ContractLogs, EventSink, EventSource, Located};
use serde::{Deserialize, Serialize};

use crate::chain::ChainView;
use crate::hub::Hub;

type Decode = fn(&LogData) -> Result<ISessionEscrowEvents, minuto_chain::alloy::sol_types::Error>;

fn decode(log: &LogData) -> Result<ISessionEscrowEvents, minuto_chain::alloy::sol_types::Error> {
    ISessionEscrowEvents::decode_raw_log(log.topics(), &log.data)
}

/// The escrow's session lifecycle events over JSON-RPC.
#[derive(Debug)]
pub struct EscrowSource {
    provider: DynProvider,
    logs: ContractLogs<ISessionEscrowEvents, Decode>,
}

impl EscrowSource {
    /// Reads `escrow`'s opened/started/ended/cancelled events through `provider`.
    pub fn new(provider: DynProvider, escrow: Address) -> Self {
        let topics = vec![
            ISessionEscrow::SessionOpened::SIGNATURE_HASH,
            ISessionEscrow::SessionStarted::SIGNATURE_HASH,
            ISessionEscrow::SessionEnded::SIGNATURE_HASH,
            ISessionEscrow::SessionCancelled::SIGNATURE_HASH,
        ];
        Self {
            logs: ContractLogs::new(provider.clone(), escrow, topics, decode as Decode),
            provider,
        }
    }
}

impl EventSource for EscrowSource {
    type Event = ISessionEscrowEvents;
    type Error = TransportError;

    async fn head(&self) -> Result<u64, TransportError> {
        self.provider.get_block_number().await
    }

    async fn logs(
        &self,
        from: u64,
        to: u64,
    ) -> Result<Vec<Located<ISessionEscrowEvents>>, TransportError> {
        self.logs.fetch(from, to).await
    }

    async fn block_hash(&self, number: u64) -> Result<Option<B256>, TransportError> {
        let block = self.provider.get_block_by_number(number.into()).await?;
        Ok(block.map(|b| b.header.hash))
    }
}

/// A session not yet ended: its tutor and whether it started.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Live {
    /// Session id.
    pub id: U256,
    /// The tutor.
    pub tutor: Address,
    /// Started (accruing): the tutor is busy.
    pub started: bool,
}

/// The follower's sink: live sessions, pushed into the hub as busy/free.
pub struct LiveSessions<C> {
    hub: Arc<Hub<C>>,
    live: Mutex<BTreeMap<U256, Live>>,
}

impl<C> LiveSessions<C> {
    /// Empty, feeding `hub`.
    pub fn new(hub: Arc<Hub<C>>) -> Self {
        Self {
            hub,
            live: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<C: ChainView> EventSink<ISessionEscrowEvents> for LiveSessions<C> {
    type Snapshot = Vec<Live>;

    fn apply(&self, log: &Located<ISessionEscrowEvents>) {
        let mut live = self.live.lock().unwrap();
        match &log.event {
            ISessionEscrowEvents::SessionOpened(e) => {
                live.insert(
                    e.id,
                    Live {
                        id: e.id,
                        tutor: e.tutor,
                        started: false,
                    },
                );
            }
            ISessionEscrowEvents::SessionStarted(e) => {
                if let Some(s) = live.get_mut(&e.id) {
                    s.started = true;
                    let tutor = s.tutor;
                    drop(live);
                    self.hub.session_started(tutor, e.id);
                }
            }
            ISessionEscrowEvents::SessionEnded(e) => {
                if let Some(s) = live.remove(&e.id) {
                    drop(live);
                    self.hub.session_ended(s.tutor, e.id);
                }
            }
            ISessionEscrowEvents::SessionCancelled(e) => {
                live.remove(&e.id);
            }
            _ => {}
        }
    }

    fn snapshot(&self) -> Vec<Live> {
        self.live.lock().unwrap().values().copied().collect()
    }

    fn rewind(&self, to: Option<&Vec<Live>>) {
        let restored: BTreeMap<U256, Live> = to
            .map(|v| v.iter().map(|s| (s.id, *s)).collect())
            .unwrap_or_default();
        let started: Vec<(Address, U256)> = restored
            .values()
            .filter(|s| s.started)
            .map(|s| (s.tutor, s.id))
            .collect();
        *self.live.lock().unwrap() = restored;
        self.hub.reset_sessions(&started);
    }
}
