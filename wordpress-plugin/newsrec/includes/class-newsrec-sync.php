<?php
/**
 * Keeps the service's catalogue in step with the site: publish and update on
 * wp_after_insert_post (fired once the post's categories, tags and meta are saved, unlike
 * transition_post_status), unpublish when a post leaves the public or is deleted, a retry
 * queue on WP-Cron while the service is down, "sync all" and the export of the articles file.
 *
 * @package Newsrec
 */

defined( 'ABSPATH' ) || exit;

/**
 * Sends posts to the service.
 */
class Newsrec_Sync {

	const QUEUE_OPTION = 'newsrec_queue';
	const SYNC_OPTION  = 'newsrec_sync_state';
	const CRON_HOOK    = 'newsrec_process_queue';
	const RETRY_HOOK   = 'newsrec_retry_once';
	const SYNC_HOOK    = 'newsrec_sync_batch';
	/** Posts per "sync all" batch, and queue entries per cron run. */
	const BATCH = 50;

	/**
	 * Posts already sent in this request (a save can fire the hook twice: the block editor's
	 * meta-box request).
	 *
	 * @var array
	 */
	private static $sent = array();

	/**
	 * Hooks in.
	 */
	public static function init() {
		add_action( 'wp_after_insert_post', array( __CLASS__, 'after_insert_post' ), 20, 4 );
		add_action( 'before_delete_post', array( __CLASS__, 'before_delete_post' ), 10, 1 );
		add_action( self::CRON_HOOK, array( __CLASS__, 'process_queue' ) );
		add_action( self::RETRY_HOOK, array( __CLASS__, 'process_queue' ) );
		add_action( self::SYNC_HOOK, array( __CLASS__, 'sync_batch' ) );
		add_filter( 'cron_schedules', array( __CLASS__, 'cron_schedules' ) ); // phpcs:ignore WordPress.WP.CronInterval.CronSchedulesInterval -- 5 minutes is the point.
		if ( ! wp_next_scheduled( self::CRON_HOOK ) ) {
			wp_schedule_event( time() + 300, 'newsrec_five_minutes', self::CRON_HOOK );
		}
	}

	/**
	 * A five-minute WP-Cron schedule.
	 *
	 * @param array $schedules Schedules.
	 * @return array
	 */
	public static function cron_schedules( $schedules ) {
		$schedules['newsrec_five_minutes'] = array(
			'interval' => 300,
			'display'  => __( 'Every five minutes (newsrec retry queue)', 'newsrec' ),
		);
		return $schedules;
	}

	/**
	 * Post types whose posts are sent (filter `newsrec_post_types`).
	 *
	 * @return string[]
	 */
	public static function post_types() {
		$settings = Newsrec_Settings::get();
		return (array) apply_filters( 'newsrec_post_types', (array) $settings['post_types'] );
	}

	/**
	 * The fields of a WP_Post the policy reads.
	 *
	 * @param WP_Post|null $post A post.
	 * @return array|null
	 */
	private static function fields( $post ) {
		if ( ! $post instanceof WP_Post ) {
			return null;
		}
		return array(
			'post_type'     => $post->post_type,
			'post_status'   => $post->post_status,
			'post_password' => $post->post_password,
		);
	}

	/**
	 * Wp_after_insert_post: publish, update or unpublish.
	 *
	 * @param int          $post_id     Post ID.
	 * @param WP_Post      $post        The post.
	 * @param bool         $update      Whether an existing post was updated.
	 * @param WP_Post|null $post_before The post before the update.
	 */
	public static function after_insert_post( $post_id, $post, $update, $post_before ) {
		$autosave = ( defined( 'DOING_AUTOSAVE' ) && DOING_AUTOSAVE ) || wp_is_post_revision( $post_id ) || wp_is_post_autosave( $post_id );
		$decision = Newsrec_Policy::on_save( self::fields( $post ), self::fields( $post_before ), self::post_types(), (bool) $autosave );
		if ( Newsrec_Policy::PUBLISH === $decision ) {
			self::send( (int) $post_id, 'put' );
		} elseif ( Newsrec_Policy::UNPUBLISH === $decision ) {
			self::send( (int) $post_id, 'delete' );
		}
	}

	/**
	 * Before_delete_post: a public post deleted for good is unpublished.
	 *
	 * @param int $post_id Post ID.
	 */
	public static function before_delete_post( $post_id ) {
		$fields = self::fields( get_post( $post_id ) );
		if ( null !== $fields && Newsrec_Policy::UNPUBLISH === Newsrec_Policy::on_delete( $fields, self::post_types() ) ) {
			self::send( (int) $post_id, 'delete' );
		}
	}

	/**
	 * The article of a post, as the articles file and PUT have it.
	 *
	 * @param WP_Post $post A post.
	 * @return array
	 */
	public static function payload( WP_Post $post ) {
		$categories = array();
		foreach ( (array) get_the_category( $post->ID ) as $term ) {
			$categories[] = array( (int) $term->term_id, (string) $term->name );
		}
		$tags = array();
		foreach ( (array) get_the_tags( $post->ID ) as $term ) {
			if ( $term instanceof WP_Term ) {
				$tags[] = (string) $term->name;
			}
		}
		$image   = get_the_post_thumbnail_url( $post, 'full' );
		$context = array(
			'permalink'        => (string) get_permalink( $post ),
			'categories'       => $categories,
			// Yoast SEO's primary category, when the site uses it.
			'primary_category' => (int) get_post_meta( $post->ID, '_yoast_wpseo_primary_category', true ),
			'tags'             => $tags,
			'author'           => (string) get_the_author_meta( 'display_name', (int) $post->post_author ),
			'image_url'        => $image ? (string) $image : '',
			'language'         => strtolower( substr( get_locale(), 0, 2 ) ),
			'timezone'         => wp_timezone_string(),
		);
		$article = Newsrec_Payload::build(
			array(
				'ID'            => $post->ID,
				'post_title'    => $post->post_title,
				'post_content'  => $post->post_content,
				'post_excerpt'  => $post->post_excerpt,
				'post_date_gmt' => $post->post_date_gmt,
				'post_date'     => $post->post_date,
			),
			$context
		);
		/**
		 * Filters the article sent for a post (PUT and export).
		 *
		 * @param array   $article The fields of the articles file.
		 * @param WP_Post $post    The post.
		 */
		return (array) apply_filters( 'newsrec_article', $article, $post );
	}

	/**
	 * Sends one change now; when it cannot reach the service, it waits in the retry queue.
	 *
	 * @param int    $post_id Post ID.
	 * @param string $op      'put' or 'delete'.
	 * @return string Newsrec_Queue::DONE, RETRY or DROP.
	 */
	public static function send( $post_id, $op ) {
		$key = $op . ':' . $post_id;
		if ( isset( self::$sent[ $key ] ) ) {
			return self::$sent[ $key ];
		}
		$client = new Newsrec_Client();
		if ( ! $client->configured() ) {
			return Newsrec_Queue::DROP;
		}
		// While the service is known to be down, editors do not wait for its timeout.
		if ( get_transient( 'newsrec_down' ) ) {
			self::enqueue( $post_id, $op, 'service down' );
			self::$sent[ $key ] = Newsrec_Queue::RETRY;
			return Newsrec_Queue::RETRY;
		}
		$outcome = self::attempt( $client, $post_id, $op );
		if ( Newsrec_Queue::RETRY === $outcome[0] ) {
			self::enqueue( $post_id, $op, $outcome[1] );
		} else {
			self::update_queue(
				function ( $state ) use ( $post_id ) {
					return Newsrec_Queue::remove( $state, $post_id );
				}
			);
		}
		self::$sent[ $key ] = $outcome[0];
		return $outcome[0];
	}

	/**
	 * One try of a change.
	 *
	 * @param Newsrec_Client $client  Client.
	 * @param int            $post_id Post ID.
	 * @param string         $op      'put' or 'delete'.
	 * @return array array( outcome, description ).
	 */
	private static function attempt( Newsrec_Client $client, $post_id, $op ) {
		if ( 'put' === $op ) {
			$post = get_post( $post_id );
			if ( ! $post instanceof WP_Post ) {
				return array( Newsrec_Queue::DONE, 'gone' );
			}
			// Queued as a publish, but no longer public (or without a title for a link): unpublish.
			if ( ! Newsrec_Policy::is_public( self::fields( $post ), self::post_types() ) || '' === trim( $post->post_title ) ) {
				$op = 'delete';
			}
		}
		$answer  = 'put' === $op
			? $client->put_article( (string) $post_id, self::payload( $post ) )
			: $client->delete_article( (string) $post_id );
		$outcome = Newsrec_Queue::outcome( $op, $answer['status'], $answer['code'] );
		$text    = Newsrec_Client::describe( $answer );
		if ( 0 === $answer['status'] ) {
			set_transient( 'newsrec_down', 1, Newsrec_Client::DOWN_SECONDS );
		} elseif ( get_transient( 'newsrec_down' ) ) {
			delete_transient( 'newsrec_down' ); // It answers again.
		}
		if ( Newsrec_Queue::DONE !== $outcome ) {
			Newsrec_Plugin::log( sprintf( '%s post %d: %s%s', strtoupper( $op ), $post_id, $text, Newsrec_Queue::DROP === $outcome ? ' (refused, not retried)' : ' (queued for retry)' ) );
		}
		return array( $outcome, $text );
	}

	/**
	 * Reads, changes and saves the queue.
	 *
	 * @param callable $change State -> state.
	 * @return array The new state.
	 */
	private static function update_queue( $change ) {
		$state = get_option( self::QUEUE_OPTION, array() );
		$state = is_array( $state ) ? $state : array();
		$new   = $change( $state );
		if ( $new !== $state ) {
			update_option( self::QUEUE_OPTION, $new, false );
		}
		return $new;
	}

	/**
	 * Puts a change in the retry queue, and asks WP-Cron for a run.
	 *
	 * @param int    $post_id Post ID.
	 * @param string $op      'put' or 'delete'.
	 * @param string $error   Why.
	 */
	public static function enqueue( $post_id, $op, $error ) {
		$now = time();
		self::update_queue(
			function ( $state ) use ( $post_id, $op, $now, $error ) {
				$state = Newsrec_Queue::add( $state, $post_id, $op, $now, $error );
				list( $state ) = Newsrec_Queue::failed( $state, $post_id, $now, $error, self::retry_delay() );
				return $state;
			}
		);
		// A one-off run at the first retry; the five-minute schedule covers the later ones.
		if ( ! wp_next_scheduled( self::RETRY_HOOK ) ) {
			wp_schedule_single_event( $now + self::retry_delay(), self::RETRY_HOOK );
		}
	}

	/**
	 * First retry delay in seconds (filter `newsrec_retry_delay`).
	 *
	 * @return int
	 */
	private static function retry_delay() {
		return max( 0, (int) apply_filters( 'newsrec_retry_delay', Newsrec_Queue::BASE_DELAY ) );
	}

	/**
	 * Pending changes.
	 *
	 * @return array The queue's state.
	 */
	public static function queue() {
		$state = get_option( self::QUEUE_OPTION, array() );
		return is_array( $state ) ? $state : array();
	}

	/**
	 * WP-Cron: tries the due entries of the queue (all of them when `$all`).
	 *
	 * @param bool $all Every entry, due or not.
	 * @return array Counts: sent, failed, dropped, left.
	 */
	public static function process_queue( $all = false ) {
		$counts = array(
			'sent'    => 0,
			'failed'  => 0,
			'dropped' => 0,
			'left'    => 0,
		);
		$client = new Newsrec_Client();
		if ( ! $client->configured() ) {
			return $counts;
		}
		$now = time();
		foreach ( Newsrec_Queue::due( self::queue(), $now, self::BATCH, true === $all ) as $post_id ) {
			$entry = self::queue()[ $post_id ] ?? null;
			if ( null === $entry ) {
				continue;
			}
			list( $outcome, $text ) = self::attempt( $client, $post_id, $entry['op'] );
			if ( Newsrec_Queue::RETRY === $outcome ) {
				++$counts['failed'];
				$given_up = false;
				self::update_queue(
					function ( $state ) use ( $post_id, $now, $text, &$given_up ) {
						list( $state, $given_up ) = Newsrec_Queue::failed( $state, $post_id, $now, $text, self::retry_delay() );
						return $state;
					}
				);
				if ( $given_up ) {
					Newsrec_Plugin::log( sprintf( 'post %d: given up after %d tries', $post_id, Newsrec_Queue::MAX_ATTEMPTS ) );
				}
				if ( 0 === strpos( $text, 'no answer' ) ) {
					break; // Down: the rest waits for the next run.
				}
			} else {
				++$counts[ Newsrec_Queue::DONE === $outcome ? 'sent' : 'dropped' ];
				self::update_queue(
					function ( $state ) use ( $post_id ) {
						return Newsrec_Queue::remove( $state, $post_id );
					}
				);
			}
		}
		$counts['left'] = count( self::queue() );
		$next = Newsrec_Queue::due( self::queue(), PHP_INT_MAX, 1 );
		if ( $next && ! wp_next_scheduled( self::RETRY_HOOK ) ) {
			wp_schedule_single_event( max( time(), (int) self::queue()[ $next[0] ]['next'] ), self::RETRY_HOOK );
		}
		return $counts;
	}

	/**
	 * IDs of published posts after `$after_id`, in ID order.
	 *
	 * @param int $after_id Last ID done.
	 * @param int $limit    How many.
	 * @return int[]
	 */
	public static function published_ids( $after_id, $limit ) {
		global $wpdb;
		$types        = self::post_types();
		$placeholders = implode( ',', array_fill( 0, count( $types ), '%s' ) );
		// phpcs:ignore WordPress.DB.DirectDatabaseQuery, WordPress.DB.PreparedSQLPlaceholders.UnfinishedPrepare -- a keyset page; placeholders built above.
		$ids = $wpdb->get_col( $wpdb->prepare( "SELECT ID FROM {$wpdb->posts} WHERE post_status = 'publish' AND post_password = '' AND post_type IN ($placeholders) AND ID > %d ORDER BY ID LIMIT %d", array_merge( $types, array( (int) $after_id, (int) $limit ) ) ) ); // phpcs:ignore WordPress.DB.PreparedSQL.InterpolatedNotPrepared
		return array_map( 'intval', (array) $ids );
	}

	/**
	 * Starts "sync all": every published post is sent, in batches (the first one now, the rest
	 * on WP-Cron).
	 *
	 * @return array The sync state.
	 */
	public static function start_sync_all() {
		update_option(
			self::SYNC_OPTION,
			array(
				'after'    => 0,
				'sent'     => 0,
				'queued'   => 0,
				'started'  => time(),
				'finished' => 0,
			),
			false
		);
		return self::sync_batch();
	}

	/**
	 * WP-Cron: one batch of "sync all".
	 *
	 * @return array The sync state.
	 */
	public static function sync_batch() {
		$state = get_option( self::SYNC_OPTION, array() );
		if ( ! is_array( $state ) || ! empty( $state['finished'] ) || ! isset( $state['after'] ) ) {
			return is_array( $state ) ? $state : array();
		}
		$ids = self::published_ids( (int) $state['after'], self::BATCH );
		foreach ( $ids as $post_id ) {
			$outcome = self::send( $post_id, 'put' );
			++$state[ Newsrec_Queue::DONE === $outcome ? 'sent' : 'queued' ];
			$state['after'] = $post_id;
		}
		if ( count( $ids ) < self::BATCH ) {
			$state['finished'] = time();
		} elseif ( ! wp_next_scheduled( self::SYNC_HOOK ) ) {
			wp_schedule_single_event( time(), self::SYNC_HOOK );
		}
		update_option( self::SYNC_OPTION, $state, false );
		return $state;
	}

	/**
	 * Writes the articles file `newsrec train --articles` reads (JSON Lines) of every published
	 * post.
	 *
	 * @param resource $out A writable stream.
	 * @return int Articles written.
	 */
	public static function export( $out ) {
		$after   = 0;
		$written = 0;
		do {
			$ids = self::published_ids( $after, 200 );
			foreach ( $ids as $post_id ) {
				$post  = get_post( $post_id );
				$after = $post_id;
				if ( ! $post instanceof WP_Post || '' === trim( $post->post_title ) ) {
					continue; // Nothing to show in a list of links (the import skips them too).
				}
				fwrite( $out, wp_json_encode( self::payload( $post ), JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES ) . "\n" ); // phpcs:ignore WordPress.WP.AlternativeFunctions.file_system_operations_fwrite
				++$written;
			}
			if ( function_exists( 'wp_cache_flush_runtime' ) ) {
				wp_cache_flush_runtime(); // Frees the object cache's memory between pages.
			}
		} while ( count( $ids ) === 200 );
		return $written;
	}
}

