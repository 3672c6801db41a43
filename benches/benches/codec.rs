//! Decoding and encoding the packets of the hot path: PUBLISH in both versions, and the
//! PUBACK that answers it.

use std::hint::black_box;

use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use tallymq::codec::{
    decode, encode, Packet, ProtocolVersion, PubResponse, Publish, PublishProperties, QoS,
};

fn publish(version: ProtocolVersion) -> Packet {
    let mut properties = PublishProperties::default();
    if version == ProtocolVersion::V5 {
        properties.user_properties = vec![("msg-id".to_string(), "0f6c2a".to_string())];
    }
    Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtLeastOnce,
        retain: false,
        topic: "chat/room-31337/msg".to_string(),
        packet_id: 4242,
        properties,
        payload: Bytes::from(vec![b'x'; 256]),
    })
}

fn codec(c: &mut Criterion) {
    let mut group = c.benchmark_group("codec");
    for (name, version) in [("v5", ProtocolVersion::V5), ("v311", ProtocolVersion::V311)] {
        let packet = publish(version);
        let mut encoded = BytesMut::new();
        encode(&packet, version, &mut encoded).expect("a valid PUBLISH encodes");
        let encoded = encoded.freeze();
        group.throughput(Throughput::Bytes(encoded.len() as u64));
        group.bench_function(format!("decode PUBLISH 256B {name}"), |b| {
            b.iter_batched(
                || BytesMut::from(&encoded[..]),
                |mut buf| black_box(decode(&mut buf, Some(version), u32::MAX)),
                criterion::BatchSize::SmallInput,
            )
        });
        let mut out = BytesMut::with_capacity(1024);
        group.bench_function(format!("encode PUBLISH 256B {name}"), |b| {
            b.iter(|| {
                out.clear();
                encode(black_box(&packet), version, &mut out).expect("encodes");
                black_box(out.len())
            })
        });
    }
    group.throughput(Throughput::Elements(1));
    let puback = Packet::PubAck(PubResponse::success(4242));
    let mut out = BytesMut::with_capacity(64);
    group.bench_function("encode PUBACK v5", |b| {
        b.iter(|| {
            out.clear();
            encode(black_box(&puback), ProtocolVersion::V5, &mut out).expect("encodes");
            black_box(out.len())
        })
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
