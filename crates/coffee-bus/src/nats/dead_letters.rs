//! Dead letters on NATS: a message that failed on every attempt is copied to the
//! `COFFEE_DEAD_LETTERS` stream (subject `coffee-dlq.<consumer>`, with the consumer, attempts,
//! error and time in headers) and terminated; redrive republishes it on
//! `coffee.redrive.<consumer>`, which only that consumer receives.

use async_nats::HeaderMap;
use async_nats::jetstream;
use async_trait::async_trait;

use super::{BusError, DEAD_LETTER_PREFIX, DEAD_LETTER_STREAM, NatsBus, REDRIVE_PREFIX, js_err};
use crate::envelope::Envelope;
use crate::store::{DeadLetter, DeadLetters, StoreError};

const H_CONSUMER: &str = "Coffee-Consumer";
const H_ATTEMPTS: &str = "Coffee-Attempts";
const H_ERROR: &str = "Coffee-Error";
const H_DIED_AT: &str = "Coffee-Died-At";

pub(super) async fn dead_letter(
    js: &jetstream::Context,
    consumer: &str,
    message: &jetstream::Message,
    attempts: u32,
    error: &str,
) -> Result<(), BusError> {
    let seq = message.info().map(|i| i.stream_sequence).unwrap_or_default();
    let mut headers = HeaderMap::new();
    headers.insert(async_nats::header::NATS_MESSAGE_ID, format!("{consumer}:{seq}").as_str());
    headers.insert(H_CONSUMER, consumer);
    headers.insert(H_ATTEMPTS, attempts.to_string().as_str());
    let error: String = error.chars().filter(|c| !c.is_control()).take(1000).collect();
    headers.insert(H_ERROR, error.as_str());
    headers.insert(H_DIED_AT, jiff::Timestamp::now().as_millisecond().to_string().as_str());
    js.publish_with_headers(format!("{DEAD_LETTER_PREFIX}{consumer}"), headers, message.payload.clone())
        .await
        .map_err(js_err)?
        .await
        .map_err(js_err)?;
    Ok(())
}

#[async_trait]
impl DeadLetters for NatsBus {
    async fn dead_letters(&self, consumer: Option<&str>) -> Result<Vec<DeadLetter>, StoreError> {
        Ok(self.read_dead_letters(consumer).await?.into_iter().map(|(letter, _)| letter).collect())
    }

    async fn redrive(&self, consumer: Option<&str>) -> Result<usize, StoreError> {
        let letters = self.read_dead_letters(consumer).await?;
        let stream = self.js.get_stream(DEAD_LETTER_STREAM).await.map_err(bus_to_store)?;
        let mut count = 0;
        for (letter, payload) in letters {
            let mut headers = HeaderMap::new();
            headers.insert(
                async_nats::header::NATS_MESSAGE_ID,
                format!("redrive:{}:{}", letter.seq, letter.event.id).as_str(),
            );
            self.js
                .publish_with_headers(format!("{REDRIVE_PREFIX}{}", letter.consumer), headers, payload)
                .await
                .map_err(bus_to_store)?
                .await
                .map_err(bus_to_store)?;
            stream.delete_message(letter.seq as u64).await.map_err(bus_to_store)?;
            count += 1;
        }
        Ok(count)
    }
}

fn bus_to_store(e: impl std::fmt::Display) -> StoreError {
    StoreError::Database(format!("NATS: {e}"))
}

impl NatsBus {
    async fn read_dead_letters(&self, consumer: Option<&str>) -> Result<Vec<(DeadLetter, bytes::Bytes)>, StoreError> {
        let mut stream = self.js.get_stream(DEAD_LETTER_STREAM).await.map_err(bus_to_store)?;
        let state = stream.info().await.map_err(bus_to_store)?.state.clone();
        let mut letters = Vec::new();
        if state.messages == 0 {
            return Ok(letters);
        }
        for seq in state.first_sequence..=state.last_sequence {
            let Ok(raw) = stream.get_raw_message(seq).await else { continue };
            let header = |name: &str| raw.headers.get(name).map(|v| v.as_str().to_owned());
            let owner = header(H_CONSUMER).unwrap_or_default();
            if consumer.is_some_and(|c| c != owner) {
                continue;
            }
            let Ok(event) = Envelope::from_bytes(&raw.payload) else { continue };
            letters.push((
                DeadLetter {
                    consumer: owner,
                    seq: seq as i64,
                    attempts: header(H_ATTEMPTS).and_then(|a| a.parse().ok()).unwrap_or(0),
                    last_error: header(H_ERROR).unwrap_or_default(),
                    died_at: header(H_DIED_AT).and_then(|d| d.parse().ok()).unwrap_or(0),
                    event,
                },
                raw.payload.clone(),
            ));
        }
        Ok(letters)
    }
}
