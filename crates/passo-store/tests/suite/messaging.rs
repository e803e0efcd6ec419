//! Queues with their messages; topics, subscriptions and their deliveries.

use crate::Fixture;
use passo_store::*;

fn msg(queue: &str, seq: i64) -> QueueMessageRow {
    QueueMessageRow {
        queue: queue.into(),
        seq,
        id: format!("m{seq}"),
        body: "hello".into(),
        attributes: "{}".into(),
        system: "{\"MessageGroupId\":\"g\"}".into(),
        sent_ms: 1,
        visible_ms: 1,
        receive_count: 0,
        first_receive_ms: None,
    }
}

fn queue(name: &str, created_ms: i64) -> QueueRow {
    QueueRow {
        name: name.into(),
        attributes: "{\"VisibilityTimeout\":\"30\"}".into(),
        tags: "{}".into(),
        created_ms,
        modified_ms: created_ms,
    }
}

fn w(m: MessagingWrite) -> Write {
    Write::Messaging(m)
}

pub async fn messages_keep_their_visibility_and_go_with_their_queue(f: &mut Fixture) {
    f.db.write(vec![
        w(MessagingWrite::PutQueue(queue("q", 2))),
        w(MessagingWrite::PutQueue(queue("other", 1))),
        w(MessagingWrite::PutMessage(msg("q", 2))),
        w(MessagingWrite::PutMessage(msg("q", 1))),
        w(MessagingWrite::PutMessage(msg("q", 3))),
        w(MessagingWrite::PutMessage(msg("other", 1))),
    ])
    .await
    .unwrap();
    f.db.write(vec![w(MessagingWrite::MessageVisibility {
        queue: "q".into(),
        seq: 2,
        visible_ms: 99,
        receive_count: 1,
        first_receive_ms: Some(5),
    })])
    .await
    .unwrap();
    f.db.write(vec![w(MessagingWrite::DeleteMessage {
        queue: "q".into(),
        seq: 1,
    })])
    .await
    .unwrap();
    f.reopen();
    assert_eq!(
        f.db.queues().unwrap(),
        vec![queue("other", 1), queue("q", 2)]
    );
    let left = f.db.queue_messages("q").unwrap();
    let seqs: Vec<i64> = left.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, [2, 3]);
    assert_eq!(
        (
            left[0].visible_ms,
            left[0].receive_count,
            left[0].first_receive_ms
        ),
        (99, 1, Some(5))
    );
    f.db.write(vec![w(MessagingWrite::PurgeQueue("other".into()))])
        .await
        .unwrap();
    assert!(f.db.queue_messages("other").unwrap().is_empty());
    assert_eq!(f.db.queues().unwrap().len(), 2);
    f.db.write(vec![w(MessagingWrite::DeleteQueue("q".into()))])
        .await
        .unwrap();
    assert!(f.db.queue_messages("q").unwrap().is_empty());
    assert_eq!(f.db.queues().unwrap(), vec![queue("other", 1)]);
}

pub async fn topics_subscriptions_and_their_deliveries(f: &mut Fixture) {
    let topic = |arn: &str, created_ms| TopicRow {
        arn: arn.into(),
        name: arn.rsplit(':').next().unwrap().into(),
        attributes: "{}".into(),
        tags: "{}".into(),
        created_ms,
    };
    let sub = |arn: &str, topic: &str, confirmed: bool| SubscriptionRow {
        arn: arn.into(),
        topic_arn: topic.into(),
        protocol: "http".into(),
        endpoint: "http://127.0.0.1:1/".into(),
        attributes: "{\"RawMessageDelivery\":\"true\"}".into(),
        token: (!confirmed).then(|| "tok".to_string()),
        confirmed,
        created_ms: 1,
    };
    f.db.write(vec![
        w(MessagingWrite::PutTopic(topic("arn:sns:t2", 2))),
        w(MessagingWrite::PutTopic(topic("arn:sns:t1", 1))),
        w(MessagingWrite::PutSubscription(sub(
            "arn:sns:t1:s1",
            "arn:sns:t1",
            false,
        ))),
        w(MessagingWrite::PutSubscription(sub(
            "arn:sns:t2:s1",
            "arn:sns:t2",
            true,
        ))),
    ])
    .await
    .unwrap();
    // Confirming replaces the subscription's row.
    f.db.write(vec![w(MessagingWrite::PutSubscription(sub(
        "arn:sns:t1:s1",
        "arn:sns:t1",
        true,
    )))])
    .await
    .unwrap();
    assert_eq!(
        f.db.topics().unwrap(),
        vec![topic("arn:sns:t1", 1), topic("arn:sns:t2", 2)]
    );
    assert_eq!(
        f.db.subscriptions().unwrap(),
        vec![
            sub("arn:sns:t1:s1", "arn:sns:t1", true),
            sub("arn:sns:t2:s1", "arn:sns:t2", true)
        ]
    );
    f.db.write(vec![w(MessagingWrite::DeleteTopic("arn:sns:t2".into()))])
        .await
        .unwrap();
    assert_eq!(f.db.topics().unwrap(), vec![topic("arn:sns:t1", 1)]);
    assert_eq!(f.db.subscriptions().unwrap().len(), 1);
    f.db.write(vec![w(MessagingWrite::DeleteSubscription(
        "arn:sns:t1:s1".into(),
    ))])
    .await
    .unwrap();
    assert!(f.db.subscriptions().unwrap().is_empty());

    let delivery = |id: &str, next_ms| TopicDeliveryRow {
        id: id.into(),
        subscription_arn: "arn:sns:t1:s1".into(),
        kind: "Notification".into(),
        message_id: "m".into(),
        body: "{\"Message\":\"hi\"}".into(),
        attempts: 0,
        next_ms,
    };
    f.db.write(vec![
        w(MessagingWrite::PutTopicDelivery(delivery("d2", 5))),
        w(MessagingWrite::PutTopicDelivery(delivery("d1", 7))),
    ])
    .await
    .unwrap();
    f.db.write(vec![w(MessagingWrite::RetryTopicDelivery(
        "d1".into(),
        2,
        3,
    ))])
    .await
    .unwrap();
    f.reopen();
    let pending = f.db.topic_deliveries().unwrap();
    assert_eq!(pending[0].id, "d1");
    assert_eq!((pending[0].attempts, pending[0].next_ms), (2, 3));
    f.db.write(vec![w(MessagingWrite::DeleteTopicDelivery("d1".into()))])
        .await
        .unwrap();
    assert_eq!(f.db.topic_deliveries().unwrap(), vec![delivery("d2", 5)]);
}
